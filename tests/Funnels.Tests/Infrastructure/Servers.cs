using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Npgsql;

[assembly: AssemblyFixture(typeof(Funnels.Tests.Infrastructure.Servers))]

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// PostgreSQL, RabbitMQ and Redis, started once for the whole test run by the AppHost itself
/// under Aspire (Funnels:Topology=servers: the servers without the services, which the tests
/// host in-process), on free loopback ports and a throw-away data folder.
/// </summary>
public sealed class Servers : IAsyncLifetime
{
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(3);
    private readonly string _dataRoot = Path.Combine(Path.GetTempPath(), "funnels-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private DistributedApplication? _app;

    public string Postgres { get; private set; } = "";
    public string RabbitMq { get; private set; } = "";
    public string Redis { get; private set; } = "";

    private DistributedApplication App => _app ?? throw new InvalidOperationException("Servers have not started.");

    public async ValueTask InitializeAsync()
    {
        using var cancel = new CancellationTokenSource(StartBound);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Funnels:Topology=servers", "--Funnels:RandomPorts=true", $"--Funnels:DataRoot={_dataRoot}"], cancel.Token);
        _app = await builder.BuildAsync(cancel.Token);
        await _app.StartAsync(cancel.Token);
        foreach (var resource in new[] { "funnels", "rabbitmq", "redis" })
        {
            await _app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancel.Token);
        }
        Postgres = await ConnectionStringAsync("funnels", cancel.Token);
        RabbitMq = await ConnectionStringAsync("rabbitmq", cancel.Token);
        Redis = await ConnectionStringAsync("redis", cancel.Token);
    }

    private async Task<string> ConnectionStringAsync(string resource, CancellationToken cancellationToken) =>
        await App.GetConnectionStringAsync(resource, cancellationToken)
        ?? throw new InvalidOperationException($"{resource} has no connection string");

    /// <summary>Stops a server through Aspire's stop command (same port and data kept); StartAsync brings it back.</summary>
    public async Task StopAsync(string resource)
    {
        using var cancel = new CancellationTokenSource(StartBound);
        await App.RunCommandAsync(resource, KnownResourceCommands.StopCommand, cancel.Token);
        await App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates, cancel.Token);
    }

    /// <summary>Waits until Aspire has seen a server's process end (one killed behind its back); StartAsync brings it back.</summary>
    public async Task WaitUntilStoppedAsync(string resource)
    {
        using var cancel = new CancellationTokenSource(StartBound);
        await App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates, cancel.Token);
    }

    /// <summary>Starts a stopped server again and waits until it is healthy.</summary>
    public async Task StartAsync(string resource)
    {
        using var cancel = new CancellationTokenSource(StartBound);
        await App.RunCommandAsync(resource, KnownResourceCommands.StartCommand, cancel.Token);
        await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancel.Token);
        if (resource == "postgres")
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync("funnels", cancel.Token);
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
        catch (UnauthorizedAccessException)
        {
            // PostgreSQL's files belong to the postgres user with owner-only modes; /tmp is cleaned anyway.
        }
    }
}
