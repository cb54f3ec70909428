using System.Net;
using System.Net.Sockets;

namespace Funnels.AppHost.Tests;

/// <summary>What the machine lacks is reported before anything starts, one line naming what to install.</summary>
public sealed class SetupErrorTests
{
    [Theory]
    [InlineData("PostgresBin", "/nonexistent", "error: PostgreSQL 15 is not in /nonexistent (Debian package postgresql)")]
    [InlineData("RabbitMQServer", "/nonexistent/rabbitmq-server", "error: RabbitMQ is not at /nonexistent/rabbitmq-server / /usr/bin/epmd (Debian package rabbitmq-server)")]
    [InlineData("RedisServer", "/nonexistent", "error: Redis is not at /nonexistent (Debian package redis-server)")]
    public async Task A_missing_server_binary_stops_apphost_with_the_package_to_install(string setting, string path, string expected)
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), "funnels-apphost-missing-" + Guid.NewGuid().ToString("N")[..8]);
        using var run = AppHostProcess.Start(["--Funnels:RandomPorts=true", $"--Funnels:DataRoot={dataRoot}", $"--Funnels:Binaries:{setting}={path}"]);

        var exitCode = await run.ExitCodeAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, exitCode);
        var errors = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(expected, errors[0]);
        Assert.Equal("error: AppHost/prerequisites.sh installs every server (or set Funnels:Binaries:* to where they are).", errors[^1]);
        Assert.Equal(2, errors.Length);
        // Nothing was started: not even the servers' data folders were made.
        Assert.False(Directory.Exists(dataRoot), $"{dataRoot} exists");
    }

    [Fact]
    public async Task A_busy_fixed_port_stops_apphost_naming_the_port_the_resource_and_the_setting_that_moves_it()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var busy = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dataRoot = Path.Combine(Path.GetTempPath(), "funnels-apphost-busy-" + Guid.NewGuid().ToString("N")[..8]);
        // Every other server port is a free one too: were the check missing, this run would not clash with anyone's.
        string[] free = ["Postgres", "RabbitMQ", "RabbitMQDistribution", "RabbitMQEpmd"];
        using var run = AppHostProcess.Start([
            "--Funnels:Topology=servers", $"--Funnels:DataRoot={dataRoot}", $"--Funnels:Ports:Redis={busy}",
            .. free.Select(key => $"--Funnels:Ports:{key}={FreePort()}")]);

        var exitCode = await run.ExitCodeAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"error: port {busy} for redis is already in use (stop whatever holds it, or set Funnels__Ports__Redis, or run with --Funnels:RandomPorts=true)",
            run.Stderr.Trim());
        Assert.False(Directory.Exists(dataRoot), $"{dataRoot} exists");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
