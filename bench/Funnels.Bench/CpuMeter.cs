namespace Funnels.Bench;

/// <summary>
/// CPU time each part of the topology has used, from /proc (TopologyProcesses' groups): each
/// server's process tree (PostgreSQL's backends, RabbitMQ's Erlang VM), each service's own
/// process (not its <c>dotnet run</c> wrapper), the wrappers together, DCP (its API server and
/// controllers, and the proxy every request to a service passes through) and the dashboard
/// (which the services send their telemetry to). The difference over a scenario divided by its
/// operations is what one operation costs, which explains a throughput better than the wall
/// clock does on a shared machine.
/// </summary>
public static class CpuMeter
{
    /// <summary>CPU milliseconds used so far, by group.</summary>
    public static IReadOnlyDictionary<string, double> Snapshot(BenchTopology topology)
    {
        var table = ProcTable.Read();
        return topology.Processes.Groups(table).ToDictionary(g => g.Key, g => table.CpuMs(g.Value));
    }

    /// <summary>CPU milliseconds per operation for each group between two snapshots.</summary>
    public static Dictionary<string, double> PerOperation(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after, double operations) =>
        after.Where(a => before.ContainsKey(a.Key) && operations > 0)
            .ToDictionary(a => a.Key, a => (a.Value - before[a.Key]) / operations);
}
