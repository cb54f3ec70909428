using Funnels.AppHost.Hosting;
using Funnels.AppHost.Hosting.Servers;
using Npgsql;

namespace Funnels.AppHost.Tests;

/// <summary>Each test owns its application: starting, stopping and starting again on the same folder.</summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly string dataRoot = TestApps.NewDataRoot();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_second_run_on_the_same_folder_reuses_its_secrets_and_its_data()
    {
        string firstConnectionString;
        await using (var first = BuildPostgresAndRedis())
        {
            await first.StartAsync(Cancellation);
            firstConnectionString = first.GetConnectionString("postgres");
            await ExecuteAsync(firstConnectionString, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)");
        }

        await using var second = BuildPostgresAndRedis();
        await second.StartAsync(Cancellation);
        var secondConnectionString = second.GetConnectionString("postgres");

        Assert.Equal(Password(firstConnectionString), Password(secondConnectionString));
        Assert.Equal(42, await ExecuteAsync(secondConnectionString, "SELECT id FROM kept"));
    }

    [Fact]
    public async Task StopAsync_leaves_no_process_behind()
    {
        var builder = TestApps.Builder(dataRoot);
        var postgres = builder.AddPostgres("postgres");
        var rabbitmqServer = builder.AddRabbitMQ("rabbitmq");
        var rabbitmq = rabbitmqServer.Resource;
        var redis = builder.AddRedis("redis");
        // A service too: its process (a dotnet host with its own children) must go as well.
        builder.AddProject("runtime-api", "Runtime.Api").WithHttpEndpoint()
            .WithReference(postgres).WaitFor(postgres).WithReference(rabbitmqServer).WaitFor(rabbitmqServer)
            .WithReference(redis).WaitFor(redis)
            .WithEnvironment("Auth__SigningKey", "lifecycle-test-signing-key-0123456789-0123456789");
        var app = builder.Build();
        await app.StartAsync(Cancellation);
        var sessions = app.Resources.Select(r => r.ProcessId!.Value).ToArray();
        Assert.All(sessions, session => Assert.NotEmpty(Probes.LiveProcessesInSession(session)));
        Assert.True(Probes.Accepts(rabbitmq.EpmdPort));

        await app.StopAsync(Cancellation);

        Assert.All(sessions, session => Assert.Empty(Probes.LiveProcessesInSession(session)));
        Assert.False(Probes.Accepts(rabbitmq.EpmdPort), "epmd still runs");
        Assert.All(app.Resources, r => Assert.Equal(ResourceState.Stopped, r.State));
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_redis_signals_it_and_the_process_is_gone()
    {
        var builder = TestApps.Builder(dataRoot);
        builder.AddRedis("redis");
        await using var app = builder.Build();
        await app.StartAsync(Cancellation);
        var pid = app.GetResource("redis").ProcessId!.Value;

        await app.StopResourceAsync("redis", Cancellation);

        Assert.False(Probes.IsAlive(pid));
        Assert.Equal(0, app.GetResource("redis").ExitCode);
    }

    public void Dispose() => TestApps.DeleteQuietly(dataRoot);

    private DistributedApplication BuildPostgresAndRedis()
    {
        var builder = TestApps.Builder(dataRoot);
        builder.AddPostgres("postgres");
        builder.AddRedis("redis");
        return builder.Build();
    }

    private static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Cancellation);
    }

    private static string Password(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Password!;
}
