extern alias admin;
extern alias messaging;
extern alias runtime;
extern alias tracking;

namespace Funnels.Tests.Infrastructure;

/// <summary>The four services hosted in-process, shared by the tests of one collection.</summary>
public sealed class Hosts(Servers servers) : IAsyncLifetime
{
    public ServiceHost<runtime::Program> Runtime { get; } = new(servers);
    public ServiceHost<tracking::Program> Tracking { get; } = new(servers);
    public ServiceHost<messaging::Program> Worker { get; private set; } = new(servers);
    public ServiceHost<admin::Program> Admin { get; } = new(servers);
    public Servers Servers { get; } = servers;

    public ValueTask InitializeAsync()
    {
        // Start the message consumers up front: a test that publishes expects someone listening.
        Runtime.StartServer();
        Worker.StartServer();
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops the in-process worker, waits, and starts a new one on the same servers (restart tests).</summary>
    public async Task RestartWorkerAsync(TimeSpan downtime)
    {
        // The host does not own its NpgsqlDataSource (registered as an instance): close its pool too.
        var dataSource = Worker.Get<Npgsql.NpgsqlDataSource>();
        await Worker.DisposeAsync();
        await dataSource.DisposeAsync();
        await Task.Delay(downtime, TestContext.Current.CancellationToken);
        Worker = new(Servers);
        Worker.StartServer();
    }

    public async ValueTask DisposeAsync()
    {
        await Admin.DisposeAsync();
        await Tracking.DisposeAsync();
        await Worker.DisposeAsync();
        await Runtime.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServicesCollection : ICollectionFixture<Hosts>
{
    public const string Name = "services";
}
