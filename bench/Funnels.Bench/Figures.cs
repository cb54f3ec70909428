namespace Funnels.Bench;

/// <summary>One round's figures by name (e.g. "lead.p99" in ms); rounds are reduced to medians.</summary>
public sealed class Figures : Dictionary<string, double>
{
    public double Of(string name) => TryGetValue(name, out var value) ? value : double.NaN;

    /// <summary>Records CPU milliseconds per operation of each resource as "cpu.&lt;scenario&gt;.&lt;resource&gt;".</summary>
    public void AddCpu(string scenario, IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after, double operations)
    {
        foreach (var (resource, ms) in CpuMeter.PerOperation(before, after, operations))
        {
            this[$"cpu.{scenario}.{resource}"] = ms;
        }
    }

    /// <summary>Records commits and rows written per operation as "db.&lt;scenario&gt;.commits" and "db.&lt;scenario&gt;.rows".</summary>
    public void AddDatabaseWork(string scenario, DatabaseWork before, DatabaseWork after, double operations)
    {
        if (operations > 0)
        {
            this[$"db.{scenario}.commits"] = (after.Commits - before.Commits) / operations;
            this[$"db.{scenario}.rows"] = (after.RowsWritten - before.RowsWritten) / operations;
        }
    }

    public static Figures Medians(IReadOnlyList<Figures> rounds)
    {
        var medians = new Figures();
        foreach (var name in rounds.SelectMany(r => r.Keys).Distinct())
        {
            medians[name] = Stats.Median(rounds.Select(r => r.Of(name)));
        }
        return medians;
    }
}
