using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The whole topology exactly as `dotnet run --project AppHost` starts it (Projects.AppHost under
/// Aspire.Hosting.Testing, the dashboard included), on free ports and a throw-away folder, started
/// once for the tests of its collection (a start takes about a minute on 2 cores).
/// </summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public const string AdminEmail = "admin@funnels.local";

    public string DataRoot { get; } = TestAppHost.NewDataRoot();

    public TestParameters Parameters { get; } = TestParameters.New();

    public string AdminPassword => Parameters.AdminPassword;

    public DistributedApplication App { get; private set; } = null!;

    public ConsoleTails Logs { get; private set; } = null!;

    /// <summary>Where the worker's WhatsApp sends go: a recording stand-in for Meta's Graph API.</summary>
    public GraphApiRecorder Graph { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var cancel = new CancellationTokenSource(TestAppHost.StartBound);
        Graph = await GraphApiRecorder.StartAsync();
        var builder = await TestAppHost.CreateBuilderAsync(DataRoot, Parameters, dashboard: true, cancel.Token);
        // Test pacing, set from outside as an operator would: webhook retries in fractions of a
        // second (not 10 s, 1 min, …) so a failing delivery is dead-lettered while a test waits,
        // WhatsApp sends go to a local recording server instead of Meta's Graph API, and the browser
        // tests' many sign-ins from 127.0.0.1 stay under the per-address sign-in limit; the flow
        // tests' webhook receiver listens on loopback, which the outbound policy refuses by default.
        foreach (var service in TestAppHost.Services)
        {
            builder.CreateResourceBuilder<ProjectResource>(service)
                .WithEnvironment("Webhooks__RetryDelayMilliseconds__0", "200")
                .WithEnvironment("Webhooks__RetryDelayMilliseconds__1", "200")
                .WithEnvironment("WhatsApp__GraphBaseUrl", Graph.BaseUrl)
                .WithEnvironment("Outbound__AllowPrivateTargets", "true")
                .WithEnvironment("RateLimits__SignInsPerIpPerMinute", "1000");
        }
        App = await builder.BuildAsync(cancel.Token);
        await App.StartAsync(cancel.Token);
        Logs = ConsoleTails.Follow(App, TestAppHost.Resources);
        await TestAppHost.WaitUntilHealthyAsync(App, Logs, TestAppHost.Resources, cancel.Token);
    }

    /// <summary>The tail of a resource's console, to explain a failure.</summary>
    public string LogOf(string resource) => Logs.Tail(resource);

    /// <summary>A service's URL as a browser outside Aspire reaches it.</summary>
    public Uri Endpoint(string service) => App.GetEndpoint(service, "http");

    public HttpClient Client(string service)
    {
        var client = App.CreateHttpClient(service, "http");
        client.Timeout = TimeSpan.FromSeconds(100);
        return client;
    }

    public async Task<string> DatabaseAsync() =>
        await App.GetConnectionStringAsync("funnels") ?? throw new InvalidOperationException("funnels has no connection string");

    public async ValueTask DisposeAsync()
    {
        Logs?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        if (Graph is not null)
        {
            await Graph.DisposeAsync();
        }
        TestAppHost.DeleteQuietly(DataRoot);
    }
}

/// <summary>The topology's tests share one started topology.</summary>
[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyFixture>
{
    public const string Name = "topology";
}
