using Microsoft.Extensions.Hosting;

namespace Funnels.Bench;

/// <summary>
/// The bench process keeps Ctrl+C and SIGTERM for itself (Program stops the topology, then
/// exits): a host's default console lifetime would take them to stop only that host (the fake
/// Graph API, or the topology's host under the bench's feet).
/// </summary>
internal sealed class BenchLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
