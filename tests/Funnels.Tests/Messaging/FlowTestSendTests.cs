using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>An editor test-sends a flow to a phone: the run goes the durable way and its first send reaches the (fake) Graph API.</summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowTestSendTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const string Greeting = """
        {"start": "hello", "nodes": {
          "hello": {"type": "send_text", "text": "Testing {{trigger.source}}", "next": "done"},
          "done": {"type": "end"}}}
        """;

    [Fact]
    public async Task A_test_send_of_a_draft_flow_runs_it_for_the_phone_and_the_first_send_reaches_the_graph_api()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        var waId = WhatsAppKit.NewWaId();

        var response = await kit.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+" + waId[..2] + " " + waId[2..] }, Cancel);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var runId = accepted.GetProperty("run_id").GetGuid();
        Assert.Equal($"/api/messaging/runs/{runId}", response.Headers.Location?.OriginalString);
        Assert.Equal(kit.PhoneNumberId, accepted.GetProperty("phone_number_id").GetString());
        var sent = await kit.SentAsync(waId, 1);
        Assert.Equal("Testing test_send", sent[0].Text);
        Assert.Equal(waId, sent[0].To);
        Assert.Equal(runId, await kit.RunAsync(flow, waId, "completed"));
        var run = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{runId}", Cancel);
        Assert.Equal("sent", run.GetProperty("outbound_messages")[0].GetProperty("status").GetString());
        Assert.Equal("draft", (await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/flows/{flow}", Cancel)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Bad_input_is_refused_naming_the_field_and_queues_nothing()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("bad input " + Guid.NewGuid().ToString("N")[..6], Greeting);
        var worker = kit.Workspace.Worker;

        foreach (var (body, field) in new (object, string)[]
                 {
                     (new { to = "12" }, "to"), (new { to = "call me" }, "to"), (new { }, "to"),
                     (new { to = "+573001112233", phone_number_id = "abc" }, "phone_number_id"),
                 })
        {
            var response = await worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", body, Cancel);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errors").TryGetProperty(field, out _), field);
        }
        var unknown = await worker.PostAsJsonAsync($"/api/messaging/flows/{Guid.NewGuid()}/test-send", new { to = "+573001112233" }, Cancel);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // A flow without a channel of its own needs the number to send from.
        var channelless = await worker.PostAsync("/api/messaging/flows", JsonContent.Create(JsonDocument.Parse($$"""
            {"name": "no channel", "status": "draft", "triggers": [], "definition": {{Greeting}}}
            """).RootElement), Cancel);
        var channellessId = (await channelless.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
        var missing = await worker.PostAsJsonAsync($"/api/messaging/flows/{channellessId}/test-send", new { to = "+573001112233" }, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("phone_number_id", await missing.Content.ReadAsStringAsync(Cancel));

        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.scheduled_triggers WHERE workspace_id = @Id", new { kit.Workspace.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.contacts WHERE workspace_id = @Id", new { kit.Workspace.Id }));
    }

    [Fact]
    public async Task Past_30_test_sends_a_minute_the_workspace_is_answered_429_and_nothing_more_is_queued()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("limit " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        var to = "+" + WhatsAppKit.NewWaId();

        // All at once: the window opens at the first and lasts a minute, far longer than these take to arrive.
        var answers = await Task.WhenAll(Enumerable.Range(0, 33).Select(_ =>
            kit.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to }, Cancel)));

        Assert.Equal(30, answers.Count(a => a.StatusCode == HttpStatusCode.Accepted));
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.Accepted).ToList();
        Assert.Equal(3, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        });
        Assert.Equal(30, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow", new { flow }));
        // The limit is the workspace's: another workspace test-sends meanwhile.
        var other = await WhatsAppKit.CreateAsync(hosts);
        var otherFlow = await other.FlowAsync("limit other " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        Assert.Equal(HttpStatusCode.Accepted,
            (await other.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{otherFlow}/test-send", new { to }, Cancel)).StatusCode);
    }

    [Fact]
    public async Task A_viewer_may_not_test_send()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("viewer " + Guid.NewGuid().ToString("N")[..6], Greeting);
        using var viewerRuntime = await kit.Workspace.MemberAsync("viewer");
        using var viewer = hosts.Worker.CreateClient();
        viewer.DefaultRequestHeaders.Authorization = viewerRuntime.DefaultRequestHeaders.Authorization;

        var response = await viewer.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+573001112233" }, Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow", new { flow }));
    }
}
