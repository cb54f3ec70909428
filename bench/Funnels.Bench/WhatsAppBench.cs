using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Funnels.Bench;

/// <summary>
/// Messaging: a burst of button clicks posted as Meta webhooks (batched like Meta batches them)
/// until every flow's first send reached the fake Graph API, and a crowd of runs waiting in a
/// delay node, measured from the step timestamps the worker records.
/// </summary>
public static class WhatsAppBench
{
    public static async Task BurstAsync(BenchWorkspace workspace, FakeGraphApi graph, BenchSizes sizes, Figures figures, string label)
    {
        // A small burst first: Wolverine generates each handler's code at its first message, in
        // each worker process, and that one-off cost is not what the burst measures.
        await DrainAsync(workspace, graph, 2 * sizes.ClicksPerDelivery, sizes);

        var topology = workspace.Topology;
        var database = workspace.Topology.Database;
        await Quiet.UntilDrainedAsync(database, TimeSpan.FromSeconds(60));
        var work = await DatabaseWork.ReadAsync(database);
        var before = CpuMeter.Snapshot(topology);
        var burst = await DrainAsync(workspace, graph, sizes.BurstClicks, sizes);
        figures.AddCpu(label, before, CpuMeter.Snapshot(topology), burst.FirstSends);
        figures.AddDatabaseWork(label, work, await DatabaseWork.ReadAsync(database), burst.FirstSends);
        figures[$"{label}.acknowledged_s"] = burst.Acknowledged.TotalSeconds;
        figures[$"{label}.first_sends"] = burst.FirstSends;
        figures[$"{label}.failed_deliveries"] = burst.FailedDeliveries;
        // Not drained within the bound: no time (the table says so) but the rate reached.
        figures[$"{label}.seconds"] = burst.Drained?.TotalSeconds ?? double.PositiveInfinity;
        figures[$"{label}.sends_per_s"] = burst.FirstSends / (burst.Drained ?? sizes.BurstTimeout).TotalSeconds;
        figures[$"{label}.backlog_stopped"] = burst.BacklogStopped ? 1 : 0;
        figures[$"{label}.executors"] = await Sql.CountAsync(workspace.Topology.Database,
            "SELECT count(DISTINCT executed_by) FROM messaging.flow_runs WHERE flow_id = @flow", ("flow", burst.Flow));
    }

    private sealed record Burst(Guid Flow, TimeSpan Acknowledged, TimeSpan? Drained, int FirstSends, int FailedDeliveries, bool BacklogStopped);

    /// <summary>Posts the clicks (a flow whose first node sends) and waits, bounded, until every contact got its first send.</summary>
    private static async Task<Burst> DrainAsync(BenchWorkspace workspace, FakeGraphApi graph, int count, BenchSizes sizes)
    {
        const string definition = """{"start": "hello", "nodes": {"hello": {"type": "send_text", "text": "Welcome {{contact.wa_id}}"}}}""";
        var phoneNumberId = await ChannelAsync(workspace);
        var flow = await FlowAsync(workspace, phoneNumberId, "Join now", definition);
        var clicks = Contacts(count);
        var deliveries = clicks.Chunk(sizes.ClicksPerDelivery).Select(chunk => Delivery(phoneNumberId, chunk, ButtonReply)).ToArray();

        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var failed = await Load.AllAsync(deliveries.Length, 8, i => PostAsync(workspace, deliveries[i]));
        var acknowledged = clock.Elapsed;
        var drained = await Load.UntilAsync(() => Task.FromResult(graph.FirstSends(phoneNumberId).Count >= clicks.Length), sizes.BurstTimeout, TimeSpan.FromMilliseconds(200));
        var sends = graph.FirstSends(phoneNumberId);
        // Out of time: pause the flow so the rest of the backlog is skipped instead of loading the next scenario.
        var paused = drained || await PauseAsync(workspace, flow, phoneNumberId, "Join now", definition);
        return new Burst(flow, acknowledged, drained ? sends.Values.Max() - started : null, sends.Count, failed, paused);
    }

    public static async Task WaitsAsync(BenchWorkspace workspace, BenchSizes sizes, Figures figures)
    {
        // First a few short waits, so the worker has generated its resume handler's code.
        await WaitAsync(workspace, 20, 1, sizes);
        var lateness = await WaitAsync(workspace, sizes.Waits, sizes.WaitSeconds, sizes);
        figures["wait.resumed"] = lateness.Resumed.Count;
        figures["wait.failed_deliveries"] = lateness.FailedDeliveries;
        figures["wait.all_completed"] = lateness.Completed ? 1 : 0;
        figures["wait.p50"] = Stats.Percentile(lateness.Resumed, 50);
        figures["wait.p99"] = Stats.Percentile(lateness.Resumed, 99);
        figures["wait.max"] = lateness.Resumed.Count == 0 ? double.NaN : lateness.Resumed.Max();
    }

    private sealed record Lateness(IReadOnlyList<double> Resumed, bool Completed, int FailedDeliveries);

    /// <summary>Starts runs that wait in a delay node, waits (bounded) until they complete, and reads each one's lateness in ms.</summary>
    private static async Task<Lateness> WaitAsync(BenchWorkspace workspace, int count, int seconds, BenchSizes sizes)
    {
        var phoneNumberId = await ChannelAsync(workspace);
        var flow = await FlowAsync(workspace, phoneNumberId, "Wait bench",
            """{"start": "pause", "nodes": {"pause": {"type": "delay", "seconds": SECONDS, "next": "done"}, "done": {"type": "end"}}}"""
                .Replace("SECONDS", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var contacts = Contacts(count);
        var deliveries = contacts.Chunk(sizes.ClicksPerDelivery).Select(chunk => Delivery(phoneNumberId, chunk, _ => Text("wait bench"))).ToArray();
        var failed = await Load.AllAsync(deliveries.Length, 8, i => PostAsync(workspace, deliveries[i]));

        var database = workspace.Topology.Database;
        var completed = await Load.UntilAsync(async () => await Sql.CountAsync(database,
            "SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @flow AND status = 'completed'", ("flow", flow)) >= contacts.Length,
            sizes.WaitTimeout, TimeSpan.FromMilliseconds(500));

        // Lateness of each resumed run: the step after the delay was executed at (the resuming
        // transaction's start) minus the due time the delay step recorded.
        await using var command = database.CreateCommand("""
            SELECT extract(epoch FROM (after.executed_at - (wait.detail->>'until')::timestamptz))::float8 * 1000
            FROM messaging.flow_run_steps wait
            JOIN messaging.flow_run_steps after ON after.run_id = wait.run_id AND after.step = wait.step + 1
            JOIN messaging.flow_runs r ON r.id = wait.run_id
            WHERE r.flow_id = @flow AND wait.node_type = 'delay'
            """);
        command.Parameters.AddWithValue("flow", flow);
        var lateness = new List<double>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lateness.Add(reader.GetDouble(0));
            }
        }
        return new Lateness(lateness, completed, failed);
    }

    /// <summary>A fresh business number claimed by the workspace, so the fake's records are this scenario's alone.</summary>
    private static async Task<string> ChannelAsync(BenchWorkspace workspace)
    {
        var phoneNumberId = "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999);
        using var runtime = workspace.Runtime();
        await Http.EnsureAsync(await runtime.PutAsync($"/api/runtime/whatsapp/channels/{phoneNumberId}",
            Http.JsonBody(new { display_phone_number = "+1 555 0100", access_token = FakeGraphApi.ChannelToken(phoneNumberId) })));
        // Messaging.Worker learns the claim a moment later; flows bound to the number are refused until then.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await Sql.CountAsync(workspace.Topology.Database, "SELECT count(*) FROM messaging.whatsapp_channels WHERE phone_number_id = @id AND workspace_id IS NOT NULL", ("id", phoneNumberId)) == 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Messaging.Worker did not learn channel {phoneNumberId} within 60 s");
            await Task.Delay(100);
        }
        return phoneNumberId;
    }

    private static async Task<Guid> FlowAsync(BenchWorkspace workspace, string phoneNumberId, string phrase, string definition)
    {
        using var worker = workspace.Worker();
        var response = await worker.PostAsync("/api/messaging/flows", Http.JsonBody(FlowBody(phoneNumberId, phrase, definition, "active")));
        await Http.EnsureAsync(response);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>An operator's way to stop a backlog: triggers of a paused flow are skipped, not run.
    /// Under a burst the update can time out (it waits for the flow row behind the runs being
    /// inserted): then the backlog runs on, and the figures say so.</summary>
    private static async Task<bool> PauseAsync(BenchWorkspace workspace, Guid flow, string phoneNumberId, string phrase, string definition)
    {
        using var worker = workspace.Worker();
        try
        {
            using var response = await worker.PutAsync($"/api/messaging/flows/{flow}", Http.JsonBody(FlowBody(phoneNumberId, phrase, definition, "paused")));
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static string FlowBody(string phoneNumberId, string phrase, string definition, string status) => new JsonObject
    {
        ["name"] = "Bench " + phrase,
        ["status"] = status,
        ["channel_phone_number_id"] = phoneNumberId,
        ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = phrase }),
        ["definition"] = JsonNode.Parse(definition),
    }.ToJsonString();

    private static string[] Contacts(int count)
    {
        var first = Random.Shared.NextInt64(3_000_000_000, 3_900_000_000);
        return Enumerable.Range(0, count).Select(i => "57" + (first + i)).ToArray();
    }

    private static JsonObject ButtonReply(string from) => new()
    {
        ["type"] = "interactive",
        ["interactive"] = new JsonObject { ["type"] = "button_reply", ["button_reply"] = new JsonObject { ["id"] = "join", ["title"] = "Join now" } },
    };

    private static JsonObject Text(string body) => new() { ["type"] = "text", ["text"] = new JsonObject { ["body"] = body } };

    /// <summary>One Meta delivery batching a message from each contact.</summary>
    private static string Delivery(string phoneNumberId, string[] contacts, Func<string, JsonObject> message)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString();
        var messages = contacts.Select(from =>
        {
            var m = message(from);
            m["from"] = from;
            m["id"] = "wamid.bench-" + Guid.NewGuid().ToString("N");
            m["timestamp"] = timestamp;
            return (JsonNode)m;
        }).ToArray();
        return new JsonObject
        {
            ["object"] = "whatsapp_business_account",
            ["entry"] = new JsonArray(new JsonObject
            {
                ["id"] = "102290129340398",
                ["changes"] = new JsonArray(new JsonObject
                {
                    ["field"] = "messages",
                    ["value"] = new JsonObject
                    {
                        ["messaging_product"] = "whatsapp",
                        ["metadata"] = new JsonObject { ["display_phone_number"] = "15550100", ["phone_number_id"] = phoneNumberId },
                        ["contacts"] = new JsonArray(contacts.Select(c => (JsonNode)new JsonObject { ["profile"] = new JsonObject { ["name"] = "Ana" }, ["wa_id"] = c }).ToArray()),
                        ["messages"] = new JsonArray(messages),
                    },
                }),
            }),
        }.ToJsonString();
    }

    private static async Task<bool> PostAsync(BenchWorkspace workspace, string body)
    {
        using var runtime = workspace.Topology.Client("runtime-api");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/meta") { Content = Http.JsonBody(body) };
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(BenchTopology.MetaAppSecret), Encoding.UTF8.GetBytes(body));
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(signature));
        using var response = await runtime.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK;
    }
}
