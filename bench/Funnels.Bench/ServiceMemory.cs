using System.Collections.Concurrent;
using Funnels.AppHost.Hosting;

namespace Funnels.Bench;

/// <summary>
/// Peak resident memory of each service process AppHost started: VmHWM from /proc/&lt;pid&gt;/status
/// (the kernel's high-water mark), sampled every half second so a process that is stopped
/// (the second worker) or restarted keeps its figure.
/// </summary>
public sealed class ServiceMemory : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, long> peaksKb = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task sampling;

    public ServiceMemory(DistributedApplication app) => sampling = SampleAsync(app, stop.Token);

    public IReadOnlyDictionary<string, long> PeaksKb => peaksKb;

    private async Task SampleAsync(DistributedApplication app, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var service in app.Resources.OfType<ProjectResource>())
            {
                if (service.ProcessId is { } pid && HighWaterMarkKb(pid) is { } kb)
                {
                    peaksKb.AddOrUpdate(service.Name, kb, (_, previous) => Math.Max(previous, kb));
                }
            }
            try
            {
                await Task.Delay(500, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static long? HighWaterMarkKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException)
        {
            return null; // the process ended between listing and reading
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await sampling;
        stop.Dispose();
    }
}
