using Funnels.AppHost.Hosting.Processes;

namespace Funnels.AppHost.Hosting.Servers;

/// <summary>
/// Redis 7 without persistence: it holds rate limits, caches and dedupe windows, never the
/// only copy of anything, so a restart may forget. Loopback only, so no password.
/// </summary>
public sealed class RedisServerResource(string name) : ServerResource(name)
{
    public override string Kind => "redis";

    public override string ConnectionString => $"127.0.0.1:{Port}";

    private protected override string Product => "Redis 7";

    private protected override string Package => "redis-server";

    private protected override int DefaultPort => DefaultPorts.Redis;

    private protected override IEnumerable<string> RequiredExecutables => [Context.Options.Binaries.RedisServer];

    private protected override Task PrepareAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        return Task.CompletedTask;
    }

    private protected override ProcessSpec CreateProcessSpec() => new(
        Context.Options.Binaries.RedisServer,
        ["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Folder, "--save", "", "--appendonly", "no", "--daemonize", "no"],
        Folder);

    private protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.RedisPingAsync(Port, cancellationToken);
}
