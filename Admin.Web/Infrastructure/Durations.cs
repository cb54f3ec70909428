namespace Funnels.Admin.Infrastructure;

/// <summary>A duration in seconds as people read it: 90 s, 15 min, 2 h, 30 days, 1 day 6 h (largest units first, exact, no fractions).</summary>
public static class Durations
{
    private static readonly (int Seconds, string One, string Many)[] Units =
        [(86_400, "day", "days"), (3_600, "h", "h"), (60, "min", "min"), (1, "s", "s")];

    public static string For(long seconds)
    {
        if (seconds <= 0) return "none";
        // Below two minutes seconds read best (90 s, not 1 min 30 s).
        if (seconds < 120) return $"{seconds} s";
        var parts = new List<string>();
        var left = seconds;
        foreach (var (size, one, many) in Units)
        {
            var count = left / size;
            if (count == 0) continue;
            parts.Add($"{count} {(count == 1 ? one : many)}");
            left -= count * size;
        }
        return string.Join(" ", parts);
    }
}
