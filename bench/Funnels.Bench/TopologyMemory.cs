using System.Collections.Concurrent;

namespace Funnels.Bench;

/// <summary>
/// Memory of the topology, sampled every second over all runs:
/// - each service process's peak resident memory (VmHWM from /proc/&lt;pid&gt;/status, the
///   kernel's high-water mark), so a process that is stopped (the second worker) keeps its figure;
/// - the PSS (proportional set size, /proc/&lt;pid&gt;/smaps_rollup: shared pages counted once
///   across processes) of what Aspire itself adds: DCP, the dashboard and the
///   <c>dotnet run --no-build</c> wrappers, once at idle (after start, before the first run)
///   and at its peak under load.
/// </summary>
public sealed class TopologyMemory : IAsyncDisposable
{
    public static readonly string[] AspireGroups = [TopologyProcesses.Dcp, TopologyProcesses.Dashboard, TopologyProcesses.Wrappers];

    private readonly TopologyProcesses processes;
    private readonly ConcurrentDictionary<string, long> peaksKb = new();
    private readonly ConcurrentDictionary<string, AspireCost> aspire = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task sampling;
    private volatile bool loaded;

    public TopologyMemory(TopologyProcesses processes)
    {
        this.processes = processes;
        sampling = SampleAsync(stop.Token);
    }

    /// <summary>PSS of one of Aspire's groups: at idle, and the peak once the runs started (KiB), with its process count.</summary>
    public sealed record AspireCost(long IdleKb, int IdleProcesses, long PeakKb, int PeakProcesses);

    /// <summary>Peak RSS of each service process (KiB).</summary>
    public IReadOnlyDictionary<string, long> PeaksKb => peaksKb;

    public IReadOnlyDictionary<string, AspireCost> Aspire => aspire;

    /// <summary>The topology is up and settled: take the idle PSS now; later samples count as loaded.</summary>
    public void MarkIdle()
    {
        foreach (var (group, (kb, count)) in SampleAspire(ProcTable.Read()))
        {
            aspire[group] = new AspireCost(kb, count, kb, count);
        }
        loaded = true;
    }

    private Dictionary<string, (long Kb, int Processes)> SampleAspire(ProcTable table)
    {
        var groups = processes.Groups(table);
        var sums = new Dictionary<string, (long, int)>();
        foreach (var group in AspireGroups)
        {
            if (groups.TryGetValue(group, out var pids))
            {
                sums[group] = (pids.Sum(pid => ProcTable.PssKb(pid) ?? 0), pids.Count);
            }
        }
        return sums;
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var table = ProcTable.Read();
            var groups = processes.Groups(table);
            foreach (var service in processes.Services)
            {
                // The service's own process: the wrapper's child (first in its group).
                if (groups.TryGetValue(service, out var pids) && pids.Count > 0 && ProcTable.HighWaterMarkKb(pids[0]) is { } kb)
                {
                    peaksKb.AddOrUpdate(service, kb, (_, previous) => Math.Max(previous, kb));
                }
            }
            if (loaded)
            {
                foreach (var (group, (kb, count)) in SampleAspire(table))
                {
                    aspire.AddOrUpdate(group, _ => new AspireCost(0, 0, kb, count),
                        (_, cost) => kb > cost.PeakKb ? cost with { PeakKb = kb, PeakProcesses = count } : cost);
                }
            }
            try
            {
                await Task.Delay(1000, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await sampling;
        stop.Dispose();
    }
}
