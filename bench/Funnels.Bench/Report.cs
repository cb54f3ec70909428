using System.Globalization;
using System.Text;

namespace Funnels.Bench;

/// <summary>The results table (Markdown): each figure beside its limit or target, as a ratio.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(Machine machine, BenchSizes sizes, bool quick, bool dashboard, IReadOnlyList<Figures> rounds, TopologyMemory memory, IReadOnlyList<string> errors)
    {
        var peaksKb = memory.PeaksKb;
        var m = Figures.Medians(rounds);
        var pgbench = m.Of("lead.pgbench");
        var text = new StringBuilder();
        text.AppendLine($"Results: median of {rounds.Count} run{(rounds.Count == 1 ? "" : "s")}{(quick ? " (--quick: small sizes, a smoke run, not a measurement)" : "")}, " +
                        $"taken {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, services and bench built in Release, " +
                        $"the topology started under Aspire by AppHost's Program (Aspire.Hosting.Testing), dashboard {(dashboard ? "on" : "off (--no-dashboard)")}.");
        text.AppendLine();
        text.AppendLine($"- Machine: {machine.Cores} cores ({machine.CpuModel}), {machine.MemoryGiB.ToString(Invariant)} GiB memory; load average at start {machine.LoadAtStart}");
        text.AppendLine($"- Versions: {machine.Dotnet}, Aspire {machine.Aspire}, PostgreSQL {machine.Postgres}, RabbitMQ {machine.RabbitMQ}, Redis {machine.Redis}");
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
            var seconds = m.Of($"{label}.seconds");
            var stopped = m.Of($"{label}.backlog_stopped") == 0 ? " (pausing the flow afterwards timed out, so its backlog ran into the next scenario)" : "";
            var rate = m.Of($"{label}.sends_per_s");
            var time = double.IsPositiveInfinity(seconds)
                ? $"not drained within {S(sizes.BurstTimeout.TotalSeconds)}: {N(m.Of($"{label}.first_sends"))} first sends at {N(rate, 1)}/s (all {N(sizes.BurstClicks)} ≈ {S(sizes.BurstClicks / rate)} at that rate)"
                : $"{S(seconds)} ({N(m.Of($"{label}.first_sends"))} first sends, {N(rate, 1)}/s)";
            Row(text, $"trigger burst: {N(sizes.BurstClicks)} button clicks → every first send at the fake Graph API, {workers}",
                $"{time}; runs executed by {N(m.Of($"{label}.executors"))} instance(s); webhooks acknowledged in {S(m.Of($"{label}.acknowledged_s"))}",
                "target < 60 s", Times(double.IsPositiveInfinity(seconds) ? sizes.BurstClicks / rate : seconds, 60));
        }
        Row(text, $"wait lateness: {N(sizes.Waits)} runs with a {sizes.WaitSeconds} s delay, due → next step executed",
            $"p50 {Ms(m.Of("wait.p50"))} · p99 {Ms(m.Of("wait.p99"))} · max {Ms(m.Of("wait.max"))} ({N(m.Of("wait.resumed"))} resumed)",
            "target p99 < 1 s (the worker polls for due scheduled messages every 250 ms)", Times(m.Of("wait.p99"), 1000));
        Row(text, "peak RSS (VmHWM) of each service process over all runs (the service itself, not its `dotnet run` wrapper)",
            string.Join(" · ", peaksKb.OrderBy(p => p.Key).Select(p => $"{p.Key} {N(p.Value / 1024.0)} MB")), "", "");
        Row(text, "PSS of what Aspire adds: at idle (started, nothing sent) → peak over all runs",
            string.Join(" · ", TopologyMemory.AspireGroups.Where(memory.Aspire.ContainsKey).Select(g => AspireCost(g, memory.Aspire[g]))),
            dashboard ? "" : "dashboard off (--no-dashboard)", "");
        text.AppendLine();
        text.AppendLine("Ratios: measured ÷ limit for throughput (higher is better); measured ÷ target for times (below 1 meets it). A median leaves out runs without the figure (— under \"Every run\").");
        text.AppendLine($"Failed requests (median per run): lead capture {N(m.Of("lead.saturation_failed"))} at saturation, {N(m.Of("lead.open_failed"))} open loop; " +
                        $"collect {N(m.Of("collect.failed"))}; link {N(m.Of("link.failed"))} (sessions left unlinked {N(m.Of("link.unlinked_sessions"))}); mixed {N(m.Of("mixed.failed"))}; " +
                        $"Meta deliveries {N(m.Of("burst1.failed_deliveries") + m.Of("burst2.failed_deliveries") + m.Of("wait.failed_deliveries"))}.");
        Cpu(text, m, machine.Cores);
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
        foreach (var name in m.Keys.Where(k => !k.StartsWith("cpu.", StringComparison.Ordinal) && !k.StartsWith("db.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            text.AppendLine($"| {name} | " + string.Join(" | ", rounds.Select(r => N(r.Of(name), 1))) + $" | {N(m.Of(name), 1)} |");
        }
        text.AppendLine();
        text.AppendLine("</details>");
        return text.ToString();
    }

    /// <summary>CPU per operation by process: where the time goes, and the rate the cores could give if nothing else ran.</summary>
    private static void Cpu(StringBuilder text, Figures m, int cores)
    {
        var scenarios = new[]
        {
            ("lead", "one lead captured (saturation)"), ("pgbench", "one pgbench INSERT"), ("collect", "one page view, 1 a request"),
            ("collect_batched", "one page view, 100 a request"), ("burst1", "one click → first send, 1 worker"), ("burst2", "one click → first send, 2 workers"),
        };
        var resources = m.Keys.Where(k => k.StartsWith("cpu.", StringComparison.Ordinal)).Select(k => k.Split('.', 3)[2]).Distinct().Order(StringComparer.Ordinal).ToList();
        if (resources.Count == 0)
        {
            return;
        }
        text.AppendLine();
        text.AppendLine($"CPU milliseconds per operation, by process (from /proc: each process and its children; a service's own process without its `dotnet run` wrapper, the wrappers together under dotnet-run; dcp is DCP's own processes, including the proxy in front of each service; idle services' background work included), and PostgreSQL's own count of commits and rows written per operation (pg_stat_database). \"cap\" is {cores} cores × 1000 ÷ the sum: the rate if these processes had the machine to themselves.");
        text.AppendLine();
        text.AppendLine("| operation | " + string.Join(" | ", resources) + " | sum | cap/s | PostgreSQL commits | rows written |");
        text.AppendLine("|---|" + string.Concat(resources.Select(_ => "---|")) + "---|---|---|---|");
        foreach (var (scenario, title) in scenarios)
        {
            var values = resources.Select(r => m.Of($"cpu.{scenario}.{r}")).ToList();
            if (values.All(double.IsNaN))
            {
                continue;
            }
            var sum = values.Where(v => !double.IsNaN(v)).Sum();
            text.AppendLine($"| {title} | " + string.Join(" | ", values.Select(v => double.IsNaN(v) ? "—" : v.ToString("0.00", Invariant))) +
                            $" | {sum.ToString("0.00", Invariant)} | {N(sum > 0 ? cores * 1000 / sum : double.NaN)} | {N(m.Of($"db.{scenario}.commits"), 1)} | {N(m.Of($"db.{scenario}.rows"), 1)} |");
        }
    }

    private static string AspireCost(string group, TopologyMemory.AspireCost cost)
    {
        var name = group switch
        {
            TopologyProcesses.Dcp => "DCP",
            TopologyProcesses.Wrappers => "`dotnet run` wrappers",
            _ => group,
        };
        static string Processes(int count) => count == 1 ? "1 process" : $"{count} processes";
        var counts = cost.IdleProcesses == cost.PeakProcesses ? Processes(cost.PeakProcesses) : $"{cost.IdleProcesses} → {Processes(cost.PeakProcesses)}";
        return $"{name} {N(cost.IdleKb / 1024.0)} → {N(cost.PeakKb / 1024.0)} MB ({counts})";
    }

    private static void Row(StringBuilder text, string figure, string measured, string beside, string ratio) =>
        text.AppendLine($"| {figure} | {measured} | {beside} | {ratio} |");

    private static string N(double value, int decimals = 0) =>
        double.IsNaN(value) ? "—" : double.IsPositiveInfinity(value) ? "∞" : value.ToString(decimals == 0 ? "#,0" : "#,0.0", Invariant);

    private static string Ms(double value) => double.IsNaN(value) ? "—" : value < 10 ? $"{value.ToString("0.0", Invariant)} ms" : $"{N(value)} ms";

    private static string S(double value) => double.IsNaN(value) ? "—" : double.IsPositiveInfinity(value) ? "not drained" : $"{value.ToString("0.0", Invariant)} s";

    private static string P(double value) => double.IsNaN(value) ? "—" : $"{value.ToString("0", Invariant)} %";

    private static string Percent(double measured, double limit, string? target) =>
        double.IsNaN(measured) || double.IsNaN(limit) || limit == 0 ? "—"
            : $"**{(100 * measured / limit).ToString("0", Invariant)} %**{(target is null ? "" : $" ({target})")}";

    private static string Times(double measured, double target) =>
        double.IsNaN(measured) ? "—" : $"{(measured / target).ToString("0.00", Invariant)}{(measured < target ? " ✓" : " ✗")}";
}
