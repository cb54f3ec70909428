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
        var phoneNumberId = await ChannelAsync(workspace);
        await FlowAsync(workspace, phoneNumberId, "Join now", """{"start": "hello", "nodes": {"hello": {"type": "send_text", "text": "Welcome {{contact.wa_id}}"}}}""");
        var clicks = Contacts(sizes.BurstClicks);
        var deliveries = clicks.Chunk(sizes.ClicksPerDelivery).Select(chunk => Delivery(phoneNumberId, chunk, ButtonReply)).ToArray();

        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var failed = await Load.AllAsync(deliveries.Length, 8, i => PostAsync(workspace, deliveries[i]));
        var acknowledged = clock.Elapsed;
        var drained = await Load.UntilAsync(() => Task.FromResult(graph.FirstSends(phoneNumberId).Count >= clicks.Length), sizes.BurstTimeout, TimeSpan.FromMilliseconds(200));
        var sends = graph.FirstSends(phoneNumberId);
        figures[$"{label}.acknowledged_s"] = acknowledged.TotalSeconds;
        figures[$"{label}.first_sends"] = sends.Count;
        figures[$"{label}.failed_deliveries"] = failed;
        // Not drained within the bound: the figure is the bound itself, marked by first_sends < clicks.
        figures[$"{label}.seconds"] = drained ? (sends.Values.Max() - started).TotalSeconds : sizes.BurstTimeout.TotalSeconds;
    }

    public static async Task WaitsAsync(BenchWorkspace workspace, BenchSizes sizes, Figures figures)
    {
        var phoneNumberId = await ChannelAsync(workspace);
        var flow = await FlowAsync(workspace, phoneNumberId, "Wait bench",
            """{"start": "pause", "nodes": {"pause": {"type": "delay", "seconds": SECONDS, "next": "done"}, "done": {"type": "end"}}}"""
                .Replace("SECONDS", sizes.WaitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var contacts = Contacts(sizes.Waits);
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

        figures["wait.resumed"] = lateness.Count;
        figures["wait.failed_deliveries"] = failed;
        figures["wait.all_completed"] = completed ? 1 : 0;
        figures["wait.p50"] = Stats.Percentile(lateness, 50);
        figures["wait.p99"] = Stats.Percentile(lateness, 99);
        figures["wait.max"] = lateness.Count == 0 ? double.NaN : lateness.Max();
    }

    /// <summary>A fresh business number claimed by the workspace, so the fake's records are this scenario's alone.</summary>
    private static async Task<string> ChannelAsync(BenchWorkspace workspace)
    {
        var phoneNumberId = "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999);
        using var runtime = workspace.Runtime();
        await Http.EnsureAsync(await runtime.PutAsync($"/api/runtime/whatsapp/channels/{phoneNumberId}", Http.JsonBody(new { display_phone_number = "+1 555 0100" })));
        return phoneNumberId;
    }

    private static async Task<Guid> FlowAsync(BenchWorkspace workspace, string phoneNumberId, string phrase, string definition)
    {
        var body = new JsonObject
        {
            ["name"] = "Bench " + phrase,
            ["status"] = "active",
            ["channel_phone_number_id"] = phoneNumberId,
            ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = phrase }),
            ["definition"] = JsonNode.Parse(definition),
        };
        using var worker = workspace.Worker();
        var response = await worker.PostAsync("/api/messaging/flows", Http.JsonBody(body.ToJsonString()));
        await Http.EnsureAsync(response);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
    }

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
