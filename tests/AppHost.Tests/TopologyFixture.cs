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

    public async ValueTask InitializeAsync()
    {
        var builder = TestApps.Builder(DataRoot, dashboard: true);
        Funnels = builder.AddFunnels();
        App = builder.Build();
        await App.StartAsync();
    }

    public HttpClient Client(string service) => new() { BaseAddress = App.GetEndpoint(service), Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        TestApps.DeleteQuietly(DataRoot);
    }
}
