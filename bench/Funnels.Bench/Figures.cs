namespace Funnels.Bench;

/// <summary>One round's figures by name (e.g. "lead.p99" in ms); rounds are reduced to medians.</summary>
public sealed class Figures : Dictionary<string, double>
{
    public double Of(string name) => TryGetValue(name, out var value) ? value : double.NaN;

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
