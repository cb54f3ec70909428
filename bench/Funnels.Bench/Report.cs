using System.Globalization;
using System.Text;

namespace Funnels.Bench;

/// <summary>The results table (Markdown): each figure beside its limit or target, as a ratio.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(Machine machine, BenchSizes sizes, bool quick, IReadOnlyList<Figures> rounds, IReadOnlyDictionary<string, long> peaksKb, IReadOnlyList<string> errors)
    {
        var m = Figures.Medians(rounds);
        var pgbench = m.Of("lead.pgbench");
        var text = new StringBuilder();
        text.AppendLine($"Results: median of {rounds.Count} run{(rounds.Count == 1 ? "" : "s")}{(quick ? " (--quick: small sizes, a smoke run, not a measurement)" : "")}, " +
                        $"taken {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, services and bench built in Release.");
        text.AppendLine();
        text.AppendLine($"- Machine: {machine.Cores} cores ({machine.CpuModel}), {machine.MemoryGiB.ToString(Invariant)} GiB memory; load average at start {machine.LoadAtStart}");
        text.AppendLine($"- Versions: {machine.Dotnet}, PostgreSQL {machine.Postgres}, RabbitMQ {machine.RabbitMQ}, Redis {machine.Redis}");
        text.AppendLine();
        text.AppendLine("| figure | measured | beside it (limit or target) | ratio |");
        text.AppendLine("|---|---|---|---|");
        Row(text, $"lead capture at saturation ({sizes.Clients} clients, FORM_SUBMIT, each a new lead)", $"{N(m.Of("lead.saturation"))} leads/s",
            $"pgbench single-row INSERT, {sizes.Clients} clients: {N(pgbench)} commits/s", Percent(m.Of("lead.saturation"), pgbench, "target ≥ 50 %"));
        Row(text, $"lead capture latency at 50 % of saturation ({N(m.Of("lead.open_rate"))}/s, open loop)",
            $"p50 {Ms(m.Of("lead.p50"))} · p95 {Ms(m.Of("lead.p95"))} · p99 {Ms(m.Of("lead.p99"))}", "", "");
        Row(text, "tracking collect, 1 page view a request", $"{N(m.Of("collect.single"))} page views/s",
            $"pgbench single-row INSERT: {N(pgbench)} commits/s", Percent(m.Of("collect.single"), pgbench, null));
        Row(text, $"tracking collect, {sizes.PageViewsPerBatch} page views a request", $"{N(m.Of("collect.batched"))} page views/s",
            $"pgbench single-row INSERT: {N(pgbench)} commits/s", Percent(m.Of("collect.batched"), pgbench, null));
        Row(text, $"link latency: CRM webhook → all {sizes.SessionsPerVisitor} sessions linked ({N(sizes.LinksPerSecond)}/s steady)",
            $"p50 {Ms(m.Of("link.p50"))} · p95 {Ms(m.Of("link.p95"))} · p99 {Ms(m.Of("link.p99"))}", "target p99 < 250 ms", Times(m.Of("link.p99"), 250));
        Row(text, "mixed run: webhook (¾ carry the visitor id) raced with fallback identify",
            $"linked by webhook {P(m.Of("mixed.webhook_share"))} · by identify {P(m.Of("mixed.identify_share"))}",
            "every session linked", $"{N(m.Of("mixed.unlinked_sessions"))} unlinked");
        foreach (var (label, workers) in new[] { ("burst1", "1 worker"), ("burst2", "2 workers") })
        {
            Row(text, $"trigger burst: {N(sizes.BurstClicks)} button clicks → every first send at the fake Graph API, {workers}",
                $"{S(m.Of($"{label}.seconds"))} ({N(m.Of($"{label}.first_sends"))} first sends; webhooks acknowledged in {S(m.Of($"{label}.acknowledged_s"))})",
                "target < 60 s", Times(m.Of($"{label}.seconds"), 60));
        }
        Row(text, $"wait lateness: {N(sizes.Waits)} runs with a {sizes.WaitSeconds} s delay, due → next step executed",
            $"p50 {Ms(m.Of("wait.p50"))} · p99 {Ms(m.Of("wait.p99"))} · max {Ms(m.Of("wait.max"))} ({N(m.Of("wait.resumed"))} resumed)",
            "target p99 < 1 s (Wolverine's scheduled-message polling: every 1 s)", Times(m.Of("wait.p99"), 1000));
        Row(text, "peak RSS (VmHWM) of each service process over all runs",
            string.Join(" · ", peaksKb.OrderBy(p => p.Key).Select(p => $"{p.Key} {N(p.Value / 1024.0)} MB")), "", "");
        text.AppendLine();
        text.AppendLine("Ratios: measured ÷ limit for throughput (higher is better); measured ÷ target for times (below 1 meets it).");
        text.AppendLine($"Failed requests (median per run): lead capture {N(m.Of("lead.saturation_failed"))} at saturation, {N(m.Of("lead.open_failed"))} open loop; " +
                        $"collect {N(m.Of("collect.failed"))}; link {N(m.Of("link.failed"))} (sessions left unlinked {N(m.Of("link.unlinked_sessions"))}); mixed {N(m.Of("mixed.failed"))}; " +
                        $"Meta deliveries {N(m.Of("burst1.failed_deliveries") + m.Of("burst2.failed_deliveries") + m.Of("wait.failed_deliveries"))}.");
        if (errors.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Scenarios that failed to run:");
            foreach (var error in errors) text.AppendLine($"- {error}");
        }

        text.AppendLine();
        text.AppendLine("<details><summary>Every run</summary>");
        text.AppendLine();
        text.AppendLine("| figure | " + string.Join(" | ", rounds.Select((_, i) => $"run {i + 1}")) + " | median |");
        text.AppendLine("|---|" + string.Concat(rounds.Select(_ => "---|")) + "---|");
        foreach (var name in m.Keys.Order(StringComparer.Ordinal))
        {
            text.AppendLine($"| {name} | " + string.Join(" | ", rounds.Select(r => N(r.Of(name), 1))) + $" | {N(m.Of(name), 1)} |");
        }
        text.AppendLine();
        text.AppendLine("</details>");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string figure, string measured, string beside, string ratio) =>
        text.AppendLine($"| {figure} | {measured} | {beside} | {ratio} |");

    private static string N(double value, int decimals = 0) =>
        double.IsNaN(value) ? "—" : value.ToString(decimals == 0 ? "#,0" : "#,0.0", Invariant);

    private static string Ms(double value) => double.IsNaN(value) ? "—" : value < 10 ? $"{value.ToString("0.0", Invariant)} ms" : $"{N(value)} ms";

    private static string S(double value) => double.IsNaN(value) ? "—" : $"{value.ToString("0.0", Invariant)} s";

    private static string P(double value) => double.IsNaN(value) ? "—" : $"{value.ToString("0", Invariant)} %";

    private static string Percent(double measured, double limit, string? target) =>
        double.IsNaN(measured) || double.IsNaN(limit) || limit == 0 ? "—"
            : $"**{(100 * measured / limit).ToString("0", Invariant)} %**{(target is null ? "" : $" ({target})")}";

    private static string Times(double measured, double target) =>
        double.IsNaN(measured) ? "—" : $"{(measured / target).ToString("0.00", Invariant)}{(measured < target ? " ✓" : " ✗")}";
}
