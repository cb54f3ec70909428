using Funnels.AppHost.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The three servers, started once for the tests that share them (RabbitMQ alone takes
/// 6-8 s to boot), on random ports and a throw-away folder, with the dashboard on.
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    public string DataRoot { get; } = TestApps.NewDataRoot();

    public DistributedApplication App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = TestApps.Builder(DataRoot, dashboard: true);
        builder.AddPostgres("postgres");
        builder.AddRabbitMQ("rabbitmq");
        builder.AddRedis("redis");
        App = builder.Build();
        await App.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        TestApps.DeleteQuietly(DataRoot);
    }
}
