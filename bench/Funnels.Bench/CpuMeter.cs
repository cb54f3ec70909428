using Funnels.AppHost.Hosting;

namespace Funnels.Bench;

/// <summary>
/// CPU time each resource AppHost started has used (its process and every descendant: PostgreSQL's
/// backends, RabbitMQ's Erlang VM), from /proc. The difference over a scenario divided by its
/// operations is what one operation costs, which explains a throughput better than the wall
/// clock does on a shared machine.
/// </summary>
public static class CpuMeter
{
    private static readonly double TicksPerMs = 100 / 1000.0; // USER_HZ is 100 on Linux

    /// <summary>CPU milliseconds used so far, by resource name.</summary>
    public static IReadOnlyDictionary<string, double> Snapshot(DistributedApplication app)
    {
        var processes = ReadAll();
        var children = processes.Values.ToLookup(p => p.Parent);
        var used = new Dictionary<string, double>();
        foreach (var resource in app.Resources)
        {
            if (resource.ProcessId is not { } root || !processes.ContainsKey(root))
            {
                continue;
            }
            double ticks = 0;
            var pending = new Stack<int>([root]);
            while (pending.TryPop(out var pid))
            {
                if (processes.TryGetValue(pid, out var process))
                {
                    // Own time plus that of children already reaped; live children are walked.
                    ticks += process.Ticks;
                    foreach (var child in children[pid]) pending.Push(child.Id);
                }
            }
            used[resource.Name] = ticks / TicksPerMs;
        }
        return used;
    }

    /// <summary>CPU milliseconds per operation for each resource between two snapshots.</summary>
    public static Dictionary<string, double> PerOperation(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after, double operations) =>
        after.Where(a => before.ContainsKey(a.Key) && operations > 0)
            .ToDictionary(a => a.Key, a => (a.Value - before[a.Key]) / operations);

    private sealed record ProcStat(int Id, int Parent, long Ticks);

    private static Dictionary<int, ProcStat> ReadAll()
    {
        var all = new Dictionary<int, ProcStat>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15) cutime(16) cstime(17).
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14]);
                all[pid] = new ProcStat(pid, int.Parse(fields[1]), ticks);
            }
            catch (IOException)
            {
                // The process ended while we listed /proc.
            }
        }
        return all;
    }
}
