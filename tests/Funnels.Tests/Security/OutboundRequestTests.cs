extern alias messaging;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace Funnels.Tests.Security;

/// <summary>
/// An editor aims outbound webhooks and flow webhook nodes at the inside (loopback, the metadata
/// service, private networks, the servers' own ports): refused when saved, refused when sent by a
/// worker whose policy is on (these tests' own worker: the shared hosts allow private targets for
/// their loopback receivers), no redirects followed, answers bounded, errors without port detail.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class OutboundRequestTests(Hosts hosts)
{
    private const string Refused = "refused by the outbound policy";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static readonly TheoryData<string> Inside = new(
        "http://127.0.0.1:5432/", "http://[::1]/hook", "http://0x7f000001/hook", "http://2130706433/hook", "http://017700000001/hook",
        "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/hook", "http://192.168.0.10/hook", "http://100.64.0.1/hook",
        "http://localhost:15672/api/users", "http://[::ffff:127.0.0.1]/hook", "http://[fe80::1]/hook", "http://[fd00::1]/hook", "http://0.0.0.0/hook",
        "ftp://example.com/hook");

    /// <summary>A worker of the test's own with the policy on: private targets NOT allowed.</summary>
    private ServiceHost<messaging::Program> PolicyWorker(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Outbound:AllowPrivateTargets"] = "false",
            ["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl,
            ["WhatsApp:AccessToken"] = FakeGraphApi.AccessToken,
        };
        foreach (var (key, value) in more ?? []) settings[key] = value;
        var worker = new ServiceHost<messaging::Program>(hosts.Servers, settings);
        worker.StartServer();
        return worker;
    }

    [Fact]
    public async Task Webhook_endpoints_aimed_inside_are_refused_when_saved_naming_the_url()
    {
        await using var worker = PolicyWorker();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var owner = worker.CreateAdminClient(workspace.Id, "owner");
        var kept = await owner.PostAsJsonAsync("/api/messaging/webhooks", new { url = "https://203.0.113.10/hook", events = new[] { "lead.captured" } }, Cancel);
        Assert.Equal(HttpStatusCode.Created, kept.StatusCode);
        var id = (await kept.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();

        foreach (var url in Inside.Select(row => row.Data))
        {
            var created = await owner.PostAsJsonAsync("/api/messaging/webhooks", new { url, events = new[] { "lead.captured" } }, Cancel);
            await AssertNamesAsync(created, "url", url);
            var updated = await owner.PutAsJsonAsync($"/api/messaging/webhooks/{id}", new { url, events = new[] { "lead.captured" } }, Cancel);
            await AssertNamesAsync(updated, "url", url);
        }
        Assert.Equal(["https://203.0.113.10/hook"], await UrlsAsync(workspace.Id));
    }

    [Fact]
    public async Task Flow_webhook_nodes_aimed_inside_are_refused_when_saved_naming_the_node_url()
    {
        await using var worker = PolicyWorker();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var editor = worker.CreateAdminClient(workspace.Id, "editor");

        foreach (var url in Inside.Select(row => row.Data))
        {
            var response = await editor.PostAsync("/api/messaging/flows", Json(FlowWithWebhook(url)), Cancel);
            await AssertNamesAsync(response, "definition.nodes.call.url", url);
        }
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flows WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task A_webhook_saved_while_allowed_is_refused_at_send_by_a_worker_with_the_policy_on_and_dead_lettered_without_calling_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        // Saved through the shared worker, which allows private targets (its receivers are on loopback).
        (await workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = receiver.Url, events = new[] { "lead.captured" } }, Cancel)).EnsureSuccessStatusCode();
        var delivery = Guid.NewGuid();
        await ExecuteAsync("""
            INSERT INTO messaging.webhook_deliveries (id, endpoint_id, workspace_id, event_type, event_key, body)
            SELECT @delivery, id, workspace_id, 'lead.captured', @key, '{"event": "lead.captured"}' FROM messaging.webhook_endpoints WHERE workspace_id = @Id
            """, new { delivery, key = delivery.ToString(), workspace.Id });

        await using var worker = PolicyWorker();
        await using (var scope = worker.Services.CreateAsyncScope())
        {
            // The durable local queue of the worker that publishes it: this worker sends it.
            await scope.ServiceProvider.GetRequiredService<IMessageBus>().PublishAsync(new messaging::Funnels.Messaging.Webhooks.DeliverWebhook(delivery));
        }

        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT status FROM messaging.webhook_deliveries WHERE id = @delivery AND status <> 'pending' AND status <> 'failing'", new { delivery }), TimeSpan.FromSeconds(60), "the delivery to end");
        await Eventually.Until(async () => await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE message_type LIKE '%DeliverWebhook%' AND position(convert_to(@id, 'UTF8') in body) > 0",
            new { id = delivery.ToString() }) is > 0 and var n ? (long?)n : null, TimeSpan.FromSeconds(60), "the dead letter");
        Assert.Equal("dead", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.webhook_deliveries WHERE id = @delivery", new { delivery }));
        Assert.Equal([Refused], await QueryAsync<string>("SELECT error FROM messaging.webhook_attempts WHERE delivery_id = @delivery", new { delivery }));
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task A_flow_webhook_saved_while_allowed_is_refused_at_run_time_and_fails_the_run_without_calling_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], FlowWithWebhook(receiver.Url)["definition"]!.ToJsonString());
        var waId = WhatsAppKit.NewWaId();
        var (trigger, run) = await QueueTriggerAsync(kit, flow, waId);

        await using var worker = PolicyWorker();
        await using (var scope = worker.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IMessageBus>().InvokeAsync(new messaging::Funnels.Messaging.Runs.ExecuteTrigger(trigger), Cancel);
        }

        var detail = await RunDetailAsync(kit, run, "failed");
        Assert.Contains(Refused, detail.GetProperty("run").GetProperty("error").GetString());
        Assert.Empty(receiver.Requests);
        Assert.Empty(kit.SentTo(waId));
    }

    [Fact]
    public async Task A_redirect_is_the_answer_and_its_location_is_never_called()
    {
        await using var inside = await LoopbackService.StartAsync((app, self) =>
        {
            app.MapPost("/hook", (HttpContext http) => Results.Redirect($"http://127.0.0.1:{self.Port}/internal/api/users", permanent: false));
            app.MapGet("/internal/api/users", () => Results.Json(new { users = new[] { "root" } }));
            app.MapPost("/internal/api/users", () => Results.Json(new { users = new[] { "root" } }));
        });
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], FlowWithWebhook(inside.BaseUrl + "/hook")["definition"]!.ToJsonString());

        var call = await TestSendAndReadAsync(kit, flow, "call");

        Assert.Equal(302, call.GetProperty("status").GetInt32());
        Assert.True(inside.Called("/hook"));
        Assert.False(inside.Called("/internal/api/users"));
    }

    [Fact]
    public async Task A_big_answer_is_truncated()
    {
        var big = "{\"data\": \"" + new string('x', 1024 * 1024) + "\"}";
        await using var inside = await LoopbackService.StartAsync((app, _) => app.MapPost("/hook", () => Results.Text(big, "application/json")));
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], FlowWithWebhook(inside.BaseUrl + "/hook")["definition"]!.ToJsonString());

        var call = await TestSendAndReadAsync(kit, flow, "call");

        Assert.Equal(200, call.GetProperty("status").GetInt32());
        Assert.True(call.TryGetProperty("truncated", out var truncated) && truncated.GetBoolean(), call.ToString()[..Math.Min(200, call.ToString().Length)]);
        Assert.True(call.GetProperty("body").GetString()!.Length <= 64 * 1024);
    }

    [Fact]
    public async Task A_closed_port_and_a_service_that_does_not_answer_in_time_give_the_same_error()
    {
        await using var slow = await LoopbackService.StartAsync((app, _) => app.MapPost("/hook", async (HttpContext http) =>
        {
            // Holds the request until the caller gives up (its timeout), or the service stops.
            try { await Task.Delay(TimeSpan.FromMinutes(2), http.RequestAborted); } catch (OperationCanceledException) { }
            return Results.Ok();
        }));
        var closed = $"http://127.0.0.1:{LoopbackService.ClosedPort()}/hook";
        var definition = new JsonObject
        {
            ["start"] = "closed",
            ["nodes"] = new JsonObject
            {
                ["closed"] = new JsonObject { ["type"] = "webhook", ["url"] = closed, ["next"] = "slow" },
                ["slow"] = new JsonObject { ["type"] = "webhook", ["url"] = slow.BaseUrl + "/hook", ["next"] = "done" },
                ["done"] = new JsonObject { ["type"] = "end" },
            },
        };
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], definition.ToJsonString());
        var waId = WhatsAppKit.NewWaId();
        var (trigger, run) = await QueueTriggerAsync(kit, flow, waId);

        // Private targets allowed (the ports are on loopback), a short timeout.
        await using var worker = PolicyWorker(new() { ["Outbound:AllowPrivateTargets"] = "true", ["Outbound:TimeoutSeconds"] = "1" });
        await using (var scope = worker.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IMessageBus>().InvokeAsync(new messaging::Funnels.Messaging.Runs.ExecuteTrigger(trigger), Cancel);
        }

        var hooks = (await RunDetailAsync(kit, run, "completed")).GetProperty("context").GetProperty("webhooks");
        var closedError = hooks.GetProperty("closed").GetProperty("error").GetString();
        var slowError = hooks.GetProperty("slow").GetProperty("error").GetString();
        Assert.Equal(closedError, slowError);
        Assert.StartsWith("failed", closedError);
        Assert.DoesNotContain(closed.Split(':')[2].Split('/')[0], closedError);
    }

    private static JsonObject FlowWithWebhook(string url) => new()
    {
        ["name"] = "Calls " + url,
        ["status"] = "draft",
        ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = "never " + Guid.NewGuid().ToString("N")[..8] }),
        ["definition"] = new JsonObject
        {
            ["start"] = "call",
            ["nodes"] = new JsonObject
            {
                ["call"] = new JsonObject { ["type"] = "webhook", ["url"] = url, ["next"] = "done" },
                ["done"] = new JsonObject { ["type"] = "end" },
            },
        },
    };

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(hosts.Servers.Postgres);
        await Dapper.SqlMapper.ExecuteAsync(connection, sql, parameters);
    }

    private async Task<List<T>> QueryAsync<T>(string sql, object parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(hosts.Servers.Postgres);
        return (await Dapper.SqlMapper.QueryAsync<T>(connection, sql, parameters)).ToList();
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task AssertNamesAsync(HttpResponseMessage response, string field, string url)
    {
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {(int)response.StatusCode} {body}");
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), $"{url}: {body}");
    }

    private async Task<string[]> UrlsAsync(Guid workspace) =>
        (await QueryAsync<string>("SELECT url FROM messaging.webhook_endpoints WHERE workspace_id = @workspace", new { workspace })).ToArray();

    /// <summary>A queued test-send trigger (what TestSendApi writes), for a worker of the test's choice to execute.</summary>
    private async Task<(Guid Trigger, Guid Run)> QueueTriggerAsync(WhatsAppKit kit, Guid flow, string waId)
    {
        var trigger = Guid.CreateVersion7();
        var run = Guid.CreateVersion7();
        await ExecuteAsync("""
            WITH contact AS (
                INSERT INTO messaging.contacts (id, workspace_id, wa_id, phone) VALUES (gen_random_uuid(), @workspace, @waId, '+' || @waId) RETURNING id
            )
            INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input, run_id)
            SELECT @trigger, @workspace, @flow, 1, contact.id, @number, 'test_send', 'test:' || @trigger, '{"source": "test_send"}'::jsonb, @run FROM contact
            """, new { trigger, run, workspace = kit.Workspace.Id, waId, flow, number = kit.PhoneNumberId });
        return (trigger, run);
    }

    private static async Task<JsonElement> RunDetailAsync(WhatsAppKit kit, Guid run, string status) =>
        (await Eventually.Until(async () =>
        {
            var response = await kit.Workspace.Worker.GetAsync($"/api/messaging/runs/{run}", Cancel);
            if (!response.IsSuccessStatusCode) return (JsonElement?)null;
            var detail = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
            return detail.GetProperty("run").GetProperty("status").GetString() == status ? detail : null;
        }, TimeSpan.FromSeconds(60), $"run {run} to be {status}"))!.Value;

    private static async Task<JsonElement> TestSendAndReadAsync(WhatsAppKit kit, Guid flow, string node)
    {
        var response = await kit.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+" + WhatsAppKit.NewWaId() }, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("run_id").GetGuid();
        return (await RunDetailAsync(kit, run, "completed")).GetProperty("context").GetProperty("webhooks").GetProperty(node);
    }
}
