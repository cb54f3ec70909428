using System.Net;
using System.Text.Json;

namespace Funnels.Bench;

/// <summary>
/// FORM_SUBMIT events, each a new lead (lead, state, audit event and LeadCaptured in the outbox,
/// one transaction): the saturation rate beside pgbench's single-row INSERT commits/s with the
/// same client count on the same server, then latency at half that rate, open loop.
/// </summary>
public static class LeadCaptureBench
{
    private const string Schema = """
        {
          "start_page_id": "signup",
          "pages": [
            { "id": "signup", "kind": "form", "fields": [
                { "name": "email", "type": "email", "required": true },
                { "name": "name", "type": "text", "max_length": 40 },
                { "name": "plan", "type": "text", "pattern": "^(basic|pro)$" } ] },
            { "id": "thanks", "kind": "thank-you" }
          ],
          "transitions": [ { "from": "signup", "on": "FORM_SUBMIT", "to": "thanks" } ]
        }
        """;

    public static async Task RunAsync(BenchWorkspace workspace, BenchSizes sizes, Figures figures)
    {
        var slug = await PublishAsync(workspace);
        using var client = workspace.Topology.Client("runtime-api");
        var run = Guid.NewGuid().ToString("N")[..10];

        async Task<bool> SubmitAsync(string email)
        {
            var body = JsonSerializer.Serialize(new
            {
                publication_slug = slug,
                event_type = "FORM_SUBMIT",
                payload = new { page_id = "signup", form_data = new { email, name = "Ana", plan = "basic" } },
            }, Http.Json);
            using var response = await client.PostAsync("/api/runtime/events/", Http.JsonBody(body));
            return response.StatusCode == HttpStatusCode.Accepted && (await response.Content.ReadAsStringAsync()).Contains("\"created\"", StringComparison.Ordinal);
        }

        await Load.ClosedAsync(sizes.Clients, sizes.Warmup, i => SubmitAsync($"w{i}-{run}@bench.test"));
        var topology = workspace.Topology;
        var database = workspace.Topology.Database;
        await Quiet.UntilDrainedAsync(database, TimeSpan.FromSeconds(60));
        var work = await DatabaseWork.ReadAsync(database);
        var before = CpuMeter.Snapshot(topology);
        var saturation = await Load.ClosedAsync(sizes.Clients, sizes.Saturation, i => SubmitAsync($"s{i}-{run}@bench.test"));
        // The lead's cost includes its LeadCaptured reaching the worker: measured once that has drained.
        await Quiet.UntilDrainedAsync(database, TimeSpan.FromSeconds(60));
        figures.AddCpu("lead", before, CpuMeter.Snapshot(topology), saturation.Succeeded);
        figures.AddDatabaseWork("lead", work, await DatabaseWork.ReadAsync(database), saturation.Succeeded);
        figures["lead.saturation"] = saturation.PerSecond;
        figures["lead.saturation_failed"] = saturation.Failed;
        work = await DatabaseWork.ReadAsync(database);
        before = CpuMeter.Snapshot(topology);
        var pgbench = await Pgbench.InsertsAsync(topology.ConnectionString, sizes.Clients, sizes.Saturation);
        figures.AddCpu("pgbench", before, CpuMeter.Snapshot(topology), pgbench.Transactions);
        figures.AddDatabaseWork("pgbench", work, await DatabaseWork.ReadAsync(database), pgbench.Transactions);
        figures["lead.pgbench"] = pgbench.PerSecond;

        var rate = Math.Max(1, saturation.PerSecond / 2);
        var open = await Load.OpenAsync(rate, (int)(rate * sizes.OpenLoop.TotalSeconds), i => SubmitAsync($"o{i}-{run}@bench.test"));
        figures["lead.open_rate"] = rate;
        figures["lead.open_failed"] = open.Failed;
        figures["lead.p50"] = open.Percentile(50);
        figures["lead.p95"] = open.Percentile(95);
        figures["lead.p99"] = open.Percentile(99);
    }

    private static async Task<string> PublishAsync(BenchWorkspace workspace)
    {
        using var runtime = workspace.Runtime();
        var slug = "bench-" + Guid.NewGuid().ToString("N")[..10];
        var created = await runtime.PostAsync("/api/runtime/funnels",
            Http.JsonBody($$"""{"name": "Bench", "slug": "{{slug}}", "schema": {{Schema}}, "allowed_origins": []}"""));
        await Http.EnsureAsync(created);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        await Http.EnsureAsync(await runtime.PostAsync($"/api/runtime/funnels/{id}/publish", null));
        return slug;
    }
}
