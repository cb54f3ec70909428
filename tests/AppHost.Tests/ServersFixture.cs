using Aspire.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The three servers without the services (Funnels:Topology=servers, what the in-process tests
/// use), started once for the tests that share them, on free ports and a throw-away folder.
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    public string DataRoot { get; } = TestAppHost.NewDataRoot();

    public TestParameters Parameters { get; } = TestParameters.New();

    public DistributedApplication App { get; private set; } = null!;

    public ConsoleTails Logs { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var cancel = new CancellationTokenSource(TestAppHost.StartBound);
        var builder = await TestAppHost.CreateBuilderAsync(DataRoot, Parameters, dashboard: false, cancel.Token, "--Funnels:Topology=servers");
        App = await builder.BuildAsync(cancel.Token);
        await App.StartAsync(cancel.Token);
        Logs = ConsoleTails.Follow(App, TestAppHost.ServerResources);
        await TestAppHost.WaitUntilHealthyAsync(App, Logs, TestAppHost.ServerResources, cancel.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Logs?.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        TestAppHost.DeleteQuietly(DataRoot);
    }
}
