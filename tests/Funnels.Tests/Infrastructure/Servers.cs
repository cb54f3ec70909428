using Funnels.AppHost.Hosting;
using Npgsql;

[assembly: AssemblyFixture(typeof(Funnels.Tests.Infrastructure.Servers))]

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// PostgreSQL, RabbitMQ and Redis, started once for the whole test run through the same
/// AppHost library that runs them locally, on random loopback ports and a throw-away folder.
/// </summary>
public sealed class Servers : IAsyncLifetime
{
    private readonly string _dataRoot = Path.Combine(Path.GetTempPath(), "funnels-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private DistributedApplication? _app;

    public string Postgres => App.GetConnectionString("postgres");
    public string RabbitMq => App.GetConnectionString("rabbitmq");
    public string Redis => App.GetConnectionString("redis");

    private DistributedApplication App => _app ?? throw new InvalidOperationException("Servers have not started.");

    public async ValueTask InitializeAsync()
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DataRoot = _dataRoot,
            UseRandomPorts = true,
            DashboardPort = 0,
            EchoLogs = false,
        });
        builder.AddPostgres("postgres");
        builder.AddRabbitMQ("rabbitmq");
        builder.AddRedis("redis");
        _app = builder.Build();
        await _app.StartAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Stops a server (same port and data kept) for fault tests; StartAsync brings it back.</summary>
    public Task StopAsync(string resource) => App.StopResourceAsync(resource);

    public async Task StartAsync(string resource)
    {
        await App.StartResourceAsync(resource);
        if (resource == "postgres")
        {
            // The tests' own pooled connections died with the old server; Npgsql finds out only on use.
            NpgsqlConnection.ClearAllPools();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
        try
        {
            Directory.Delete(_dataRoot, recursive: true);
        }
        catch (IOException)
        {
            // A server may still hold a file for a moment; the folder is in /tmp anyway.
        }
    }
}
