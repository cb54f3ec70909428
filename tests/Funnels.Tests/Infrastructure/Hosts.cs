extern alias admin;
extern alias messaging;
extern alias runtime;
extern alias tracking;

using Wolverine;
using Wolverine.Tracking;

namespace Funnels.Tests.Infrastructure;

/// <summary>The four services hosted in-process, shared by the tests of one collection.</summary>
public sealed class Hosts(Servers servers) : IAsyncLifetime
{
    public ServiceHost<runtime::Program> Runtime { get; private set; } = null!;
    public ServiceHost<tracking::Program> Tracking { get; } = new(servers);
    public ServiceHost<messaging::Program> Worker { get; private set; } = null!;
    public ServiceHost<admin::Program> Admin { get; } = new(servers);
    public Servers Servers { get; } = servers;

    /// <summary>Meta's Graph API as the worker sees it (WhatsApp:GraphBaseUrl).</summary>
    public FakeGraphApi Graph { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Graph = await FakeGraphApi.StartAsync();
        // Runtime.Api asks the Graph API to prove a claimed number's access token.
        Runtime = new(Servers, new Dictionary<string, string?> { ["WhatsApp:GraphBaseUrl"] = Graph.BaseUrl });
        Worker = NewWorker();
        // Start the message consumers up front: a test that publishes expects someone listening, and
        // a test that starts a host of its own must not be the one that takes the shared hosts' messages.
        Runtime.StartServer();
        Worker.StartServer();
        Tracking.StartServer();
        // Runtime.Api announces the workspaces Tracking.Api has not heard of at start: let that settle first.
        await Eventually.Until(async () => await Servers.CountAsync("""
            SELECT count(*) FROM runtime.workspaces w WHERE NOT EXISTS (SELECT 1 FROM tracking.workspaces t WHERE t.id = w.id)
            """) == 0 ? (bool?)true : null, TimeSpan.FromSeconds(90), "Tracking.Api to know every workspace Runtime.Api announced at start");
    }

    /// <summary>
    /// Runs an action (requests to the services) in a Wolverine tracked session over the shared
    /// services and any <paramref name="others"/>, and returns once every message the action caused,
    /// through RabbitMQ and local queues, cascades included, was handled (scheduled ones excepted).
    /// What the action could cause has then happened: a test may assert that something did not.
    /// </summary>
    public Task<ITrackedSession> TrackedAsync(Func<Task> action, params IServiceProvider[] others) =>
        Runtime.Services.TrackActivity(TimeSpan.FromSeconds(120))
            .AlsoTrack([Tracking.Services, Worker.Services, .. others])
            .IncludeExternalTransports()
            .DoNotAssertOnExceptionsDetected()
            .ExecuteAndWaitAsync((Func<IMessageContext, Task>)(_ => action()));

    /// <summary>Another Messaging.Worker instance, configured like the first (the caller starts and disposes it).</summary>
    public ServiceHost<messaging::Program> NewWorker() =>
        new(Servers, new Dictionary<string, string?> { ["WhatsApp:GraphBaseUrl"] = Graph.BaseUrl, ["WhatsApp:AccessToken"] = FakeGraphApi.AccessToken });

    /// <summary>
    /// Stops the in-process worker (gracefully), keeps it down until <paramref name="downUntil"/> has
    /// passed (so what fell due meanwhile waits in PostgreSQL), and starts a fresh one on the same servers.
    /// </summary>
    public async Task RestartWorkerAsync(DateTime? downUntil = null)
    {
        await StopWorkerAsync(Worker);
        while (downUntil is { } until && DateTime.UtcNow <= until)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        Worker = NewWorker();
        Worker.StartServer();
    }

    /// <summary>
    /// Stops the in-process worker (gracefully), runs <paramref name="whileDown"/> with no worker
    /// running (a test's proof that nothing fired, its wait past a due time), and starts a fresh one,
    /// also when <paramref name="whileDown"/> failed. Returns the database's clock just before the
    /// fresh worker started: what it did carries later timestamps.
    /// </summary>
    public async Task<DateTime> RestartWorkerAsync(Func<Task> whileDown)
    {
        await StopWorkerAsync(Worker);
        try
        {
            await whileDown();
            return await Servers.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        }
        finally
        {
            Worker = NewWorker();
            Worker.StartServer();
        }
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
