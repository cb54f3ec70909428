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
    public ServiceHost<messaging::Program> Worker { get; private set; } = null!;
    public ServiceHost<admin::Program> Admin { get; } = new(servers);
    public Servers Servers { get; } = servers;

    /// <summary>Meta's Graph API as the worker sees it (WhatsApp:GraphBaseUrl).</summary>
    public FakeGraphApi Graph { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Graph = await FakeGraphApi.StartAsync();
        Worker = NewWorker();
        // Start the message consumers up front: a test that publishes expects someone listening.
        Runtime.StartServer();
        Worker.StartServer();
    }

    /// <summary>Another Messaging.Worker instance, configured like the first (the caller starts and disposes it).</summary>
    public ServiceHost<messaging::Program> NewWorker() =>
        new(Servers, new Dictionary<string, string?> { ["WhatsApp:GraphBaseUrl"] = Graph.BaseUrl, ["WhatsApp:AccessToken"] = FakeGraphApi.AccessToken });

    /// <summary>Stops the in-process worker (gracefully), waits for the downtime, and starts a fresh one on the same servers.</summary>
    public async Task RestartWorkerAsync(TimeSpan? downtime = null)
    {
        await StopWorkerAsync(Worker);
        if (downtime is { } wait)
        {
            await Task.Delay(wait, TestContext.Current.CancellationToken);
        }
        Worker = NewWorker();
        Worker.StartServer();
    }

    /// <summary>Stops a worker host; its connection pool closes with it (ServiceDefaults' DataSourceLifetime).</summary>
    public static ValueTask StopWorkerAsync(ServiceHost<messaging::Program> worker) => worker.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await Admin.DisposeAsync();
        await Tracking.DisposeAsync();
        await Worker.DisposeAsync();
        await Runtime.DisposeAsync();
        await Graph.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServicesCollection : ICollectionFixture<Hosts>
{
    public const string Name = "services";
}
