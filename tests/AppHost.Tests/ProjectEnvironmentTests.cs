using Funnels.AppHost.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>The variables a project starts with are the contract the services read (Aspire's conventions).</summary>
public sealed class ProjectEnvironmentTests : IDisposable
{
    private readonly string dataRoot = TestApps.NewDataRoot();

    [Fact]
    public void A_project_gets_its_url_its_references_and_its_own_variables()
    {
        var builder = TestApps.Builder(dataRoot);
        var postgres = builder.AddPostgres("postgres");
        var rabbitmq = builder.AddRabbitMQ("rabbitmq");
        var redis = builder.AddRedis("redis");
        var signingKey = builder.AddParameter("auth-signing-key", secret: true);
        builder.WithEnvironment("Auth__SigningKey", signingKey);
        var runtimeApi = builder.AddProject("runtime-api", "Runtime.Api").WithHttpEndpoint(port: 5101)
            .WithReference(postgres).WithReference(rabbitmq).WithReference(redis)
            .WaitFor(postgres).WaitFor(rabbitmq).WaitFor(redis);
        var admin = builder.AddProject("admin-web", "Admin.Web")
            .WithReference(runtimeApi).WaitFor(runtimeApi)
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Staging");
        using var app = new AppOwner(builder.Build());

        var runtime = runtimeApi.Resource.GetEnvironment();
        var adminVariables = admin.Resource.GetEnvironment();

        Assert.Equal(app.Value.GetConnectionString("postgres"), runtime["ConnectionStrings__postgres"]);
        Assert.Equal(app.Value.GetConnectionString("rabbitmq"), runtime["ConnectionStrings__rabbitmq"]);
        Assert.Equal(app.Value.GetConnectionString("redis"), runtime["ConnectionStrings__redis"]);
        Assert.Equal($"http://127.0.0.1:{runtimeApi.Resource.Port}", runtime["ASPNETCORE_URLS"]);
        Assert.NotEqual(5101, runtimeApi.Resource.Port); // random ports win over the fixed default in tests
        Assert.Equal("Development", runtime["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("Development", runtime["DOTNET_ENVIRONMENT"]);
        Assert.Equal("runtime-api", runtime["OTEL_SERVICE_NAME"]);
        Assert.Equal(48, runtime["Auth__SigningKey"].Length);
        Assert.Equal(runtime["Auth__SigningKey"], adminVariables["Auth__SigningKey"]);
        Assert.Equal($"http://127.0.0.1:{runtimeApi.Resource.Port}", adminVariables["services__runtime-api__http__0"]);
        Assert.Equal("Staging", adminVariables["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("Staging", adminVariables["DOTNET_ENVIRONMENT"]);
        Assert.DoesNotContain(adminVariables.Keys, key => key.StartsWith("ConnectionStrings__", StringComparison.Ordinal));
        Assert.Equal(
            ["postgres", "rabbitmq", "redis", "runtime-api", "admin-web"],
            app.Value.Resources.Select(r => r.Name));
    }

    [Fact]
    public void A_cycle_of_waits_is_refused_when_building()
    {
        var builder = TestApps.Builder(dataRoot);
        var first = builder.AddProject("first", "First");
        var second = builder.AddProject("second", "Second").WaitFor(first);
        first.WaitFor(second);

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains("cycle", error.Message);
    }

    public void Dispose() => TestApps.DeleteQuietly(dataRoot);

    /// <summary>An application that was built but never started still gets disposed.</summary>
    private sealed class AppOwner(DistributedApplication value) : IDisposable
    {
        public DistributedApplication Value { get; } = value;

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
