using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Bench;

/// <summary>
/// The processes of the topology under Aspire, grouped by what they are, so CPU and memory are
/// read for each: a server's process tree (PostgreSQL's backends, RabbitMQ's Erlang VM), each
/// service's own process (the child of the <c>dotnet run --no-build</c> wrapper DCP launches a
/// project through), the wrappers themselves, DCP, and the dashboard.
/// Resource processes come from Aspire's resource snapshots (the <c>executable.pid</c> property,
/// updated when a resource is stopped and started again); DCP's are its API server (a process of
/// its own, <c>dcp start-apiserver --monitor &lt;the bench's pid&gt;</c>, not a child of the bench)
/// and its descendants (the controllers, a <c>dcp monitor-process</c> per resource) without the
/// resources' processes.
/// </summary>
public sealed class TopologyProcesses : IAsyncDisposable
{
    /// <summary>The group of every project's <c>dotnet run --no-build</c> wrapper process.</summary>
    public const string Wrappers = "dotnet-run";
    public const string Dcp = "dcp";
    public const string Dashboard = "dashboard";

    // Aspire's KnownProperties.Executable.Pid (internal in 13.6).
    private const string PidProperty = "executable.pid";
    private const string DashboardResource = "aspire-dashboard";

    private readonly ConcurrentDictionary<string, int> pids = new();
    private readonly HashSet<string> projects;
    private readonly CancellationTokenSource stop = new();
    private readonly Task watching;
    private int? dcpRoot;

    public TopologyProcesses(DistributedApplication app)
    {
        projects = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ProjectResource>().Select(r => r.Name).ToHashSet();
        watching = WatchAsync(app.ResourceNotifications, stop.Token);
    }

    /// <summary>The services' resource names (projects).</summary>
    public IReadOnlySet<string> Services => projects;

    private async Task WatchAsync(ResourceNotificationService notifications, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(cancellationToken))
            {
                var property = change.Snapshot.Properties.FirstOrDefault(p => p.Name == PidProperty)?.Value;
                if (property is not null && int.TryParse(Convert.ToString(property, System.Globalization.CultureInfo.InvariantCulture), out var pid) && pid > 0)
                {
                    pids[change.Resource.Name] = pid;
                }
                else if (change.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state))
                {
                    pids.TryRemove(change.Resource.Name, out _);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The process ids of each group, from one reading of /proc.</summary>
    public Dictionary<string, List<int>> Groups(ProcTable table)
    {
        var groups = new Dictionary<string, List<int>>();
        var resourceRoots = new HashSet<int>();
        foreach (var (name, pid) in pids)
        {
            if (!table.All.ContainsKey(pid))
            {
                continue; // ended since its last snapshot
            }
            resourceRoots.Add(pid);
            if (projects.Contains(name))
            {
                // DCP runs `dotnet run --no-build --project …`, which runs the service as its child.
                groups.GetOrAdd(Wrappers).Add(pid);
                groups[name] = table.Children(pid).SelectMany(child => table.Tree(child.Id)).ToList();
            }
            else
            {
                groups[name == DashboardResource ? Dashboard : name] = table.Tree(pid).ToList();
            }
        }

        if (dcpRoot is not { } root || !table.All.ContainsKey(root))
        {
            dcpRoot = root = FindDcp(table);
        }
        if (root > 0)
        {
            groups[Dcp] = table.Tree(root, resourceRoots).ToList();
        }
        return groups;
    }

    /// <summary>DCP's API server: the <c>dcp start-apiserver</c> process that watches this process (0: none).</summary>
    private static int FindDcp(ProcTable table)
    {
        var monitor = $"--monitor\0{Environment.ProcessId}\0";
        foreach (var process in table.All.Values.Where(p => p.Name == "dcp"))
        {
            try
            {
                var command = File.ReadAllText($"/proc/{process.Id}/cmdline");
                if (command.Contains("\0start-apiserver\0", StringComparison.Ordinal) && command.Contains(monitor, StringComparison.Ordinal))
                {
                    return process.Id;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await watching;
        stop.Dispose();
    }
}

/// <summary>One reading of /proc: every process with its parent, name and CPU ticks.</summary>
public sealed class ProcTable
{
    private const double MsPerTick = 1000 / 100.0; // USER_HZ is 100 on Linux

    private readonly ILookup<int, Proc> children;

    private ProcTable(Dictionary<int, Proc> all)
    {
        All = all;
        children = all.Values.ToLookup(p => p.Parent);
    }

    /// <summary>A process; Ticks is its own CPU time plus that of its children already reaped.</summary>
    public sealed record Proc(int Id, int Parent, string Name, long Ticks);

    public IReadOnlyDictionary<int, Proc> All { get; }

    public IEnumerable<Proc> Children(int pid) => children[pid];

    /// <summary>A process and its descendants, not descending into <paramref name="exclude"/>.</summary>
    public IEnumerable<int> Tree(int root, IReadOnlySet<int>? exclude = null)
    {
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            if (!All.ContainsKey(pid) || (pid != root && exclude?.Contains(pid) == true))
            {
                continue;
            }
            yield return pid;
            foreach (var child in children[pid]) pending.Push(child.Id);
        }
    }

    public double CpuMs(IEnumerable<int> pids) => pids.Sum(pid => All.TryGetValue(pid, out var p) ? p.Ticks : 0) * MsPerTick;

    public static ProcTable Read()
    {
        var all = new Dictionary<int, Proc>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                // pid (comm) state ppid …: fields after the name (which may hold spaces): utime(14) stime(15) cutime(16) cstime(17).
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                var ticks = long.Parse(fields[11]) + long.Parse(fields[12]) + long.Parse(fields[13]) + long.Parse(fields[14]);
                all[pid] = new Proc(pid, int.Parse(fields[1]), stat[(open + 1)..close], ticks);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while /proc was listed.
            }
        }
        return new ProcTable(all);
    }

    /// <summary>Peak resident memory (VmHWM, the kernel's high-water mark) of one process, in KiB.</summary>
    public static long? HighWaterMarkKb(int pid) => StatusField($"/proc/{pid}/status", "VmHWM:");

    /// <summary>Proportional set size of one process in KiB: its private pages plus its share of pages it shares.</summary>
    public static long? PssKb(int pid) => StatusField($"/proc/{pid}/smaps_rollup", "Pss:");

    private static long? StatusField(string file, string field)
    {
        try
        {
            var line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the process ended between listing and reading
        }
    }
}

internal static class GroupExtensions
{
    public static List<int> GetOrAdd(this Dictionary<string, List<int>> groups, string name)
    {
        if (!groups.TryGetValue(name, out var list))
        {
            groups[name] = list = [];
        }
        return list;
    }
}
