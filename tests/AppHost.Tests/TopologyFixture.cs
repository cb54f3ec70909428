using Funnels.AppHost.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The whole topology exactly as `dotnet run --project AppHost` starts it (FunnelsTopology), as
/// child processes on random ports and a throw-away folder, started once for its tests.
/// </summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public string DataRoot { get; } = TestApps.NewDataRoot();

    public DistributedApplication App { get; private set; } = null!;

    public FunnelsResources Funnels { get; private set; } = null!;

    /// <summary>Where the worker's WhatsApp sends go: a recording stand-in for Meta's Graph API.</summary>
    public GraphApiRecorder Graph { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Graph = await GraphApiRecorder.StartAsync();
        var builder = TestApps.Builder(DataRoot, dashboard: true);
        Funnels = builder.AddFunnels();
        // Test pacing, set from outside as an operator would: webhook retries in fractions of a
        // second (not 10 s, 1 min, …) so a failing delivery is dead-lettered while a test waits,
        // WhatsApp sends go to a local recording server instead of Meta's Graph API, and the browser
        // tests' many sign-ins from 127.0.0.1 stay under the per-address sign-in limit; loopback
        // webhook receivers are allowed.
        builder.WithEnvironment("Webhooks__RetryDelayMilliseconds__0", "200");
        builder.WithEnvironment("Webhooks__RetryDelayMilliseconds__1", "200");
        builder.WithEnvironment("WhatsApp__GraphBaseUrl", Graph.BaseUrl);
        // The flow tests' webhook receiver listens on loopback, which the outbound policy refuses by default.
        builder.WithEnvironment("Outbound__AllowPrivateTargets", "true");
        builder.WithEnvironment("RateLimits__SignInsPerIpPerMinute", "1000");
        App = builder.Build();
        await App.StartAsync();
        // StartAsync waits for what others wait for; the tests also need the last one up.
        foreach (var resource in App.Resources)
        {
            await App.WaitForResourceHealthyAsync(resource.Name);
        }
    }

    /// <summary>The tail of a resource's console, to explain a failure.</summary>
    public string LogOf(string resource) => string.Join('\n', App.GetResource(resource).Log.Tail(60));

    public HttpClient Client(string service) => new() { BaseAddress = App.GetEndpoint(service), Timeout = TimeSpan.FromSeconds(100) };

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Graph.DisposeAsync();
        TestApps.DeleteQuietly(DataRoot);
    }
}

/// <summary>The topology's tests share one started topology (it takes ~20 s to start).</summary>
[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyFixture>
{
    public const string Name = "topology";
}
