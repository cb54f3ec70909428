using System.Net;
using System.Net.Sockets;
using Funnels.AppHost.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>What the machine lacks is reported as one line that says what to do, before anything starts.</summary>
public sealed class SetupErrorTests : IDisposable
{
    private readonly string dataRoot = TestApps.NewDataRoot();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_busy_fixed_port_names_the_port_the_resource_and_the_setting_that_moves_it()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            Args = [$"--Funnels:Ports:redis={port}"],
            DataRoot = dataRoot,
            DashboardPort = 0,
            Output = TextWriter.Null,
        });
        builder.AddRedis("redis");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<SetupException>(() => app.StartAsync(Cancellation));

        Assert.Equal($"port {port} for redis is already in use (stop whatever holds it, or set Funnels__Ports__redis)", error.Message);
        Assert.Equal(ResourceState.NotStarted, app.GetResource("redis").State);
    }

    [Theory]
    [InlineData("postgres", "PostgreSQL 15 not found at /nowhere/postgres — install it: apt-get install -y postgresql")]
    [InlineData("redis", "Redis 7 not found at /nowhere/redis-server — install it: apt-get install -y redis-server")]
    [InlineData("rabbitmq", "RabbitMQ 3.10 not found at /nowhere/rabbitmq-server — install it: apt-get install -y rabbitmq-server")]
    public async Task A_missing_server_binary_says_which_package_to_install(string server, string expected)
    {
        var binaries = new ServerBinaries { PostgresBin = "/nowhere", RedisServer = "/nowhere/redis-server", RabbitMQBin = "/nowhere" };
        var builder = TestApps.Builder(dataRoot, binaries: binaries);
        _ = server switch
        {
            "postgres" => builder.AddPostgres(server).Resource as Resource,
            "redis" => builder.AddRedis(server).Resource,
            _ => builder.AddRabbitMQ(server).Resource,
        };
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<SetupException>(() => app.StartAsync(Cancellation));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public async Task An_unbuilt_project_says_to_build_the_solution_and_starts_nothing()
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DataRoot = dataRoot,
            RepositoryRoot = dataRoot,
            UseRandomPorts = true,
            DashboardPort = 0,
            Output = TextWriter.Null,
        });
        var redis = builder.AddRedis("redis");
        builder.AddProject("runtime-api", "Runtime.Api").WithReference(redis).WaitFor(redis);
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<SetupException>(() => app.StartAsync(Cancellation));

        Assert.Equal(
            $"Runtime.Api is not built: {dataRoot}/Runtime.Api/bin/Debug/net10.0/Runtime.Api.dll is missing — build it: dotnet build Funnels.sln",
            error.Message);
        Assert.Null(app.GetResource("redis").ProcessId);
    }

    public void Dispose() => TestApps.DeleteQuietly(dataRoot);
}
