using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// Meta's error codes decide what a send does, never the HTTP status: the fake Graph API answers
/// 130429, 131056, 131026 and 190 with HTTP 400 and Meta's error body, as Meta does.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class GraphErrorTests(Hosts hosts)
{
    private const string TwoSends = """
        {"start": "a", "nodes": {
          "a": {"type": "send_text", "text": "first", "next": "b"},
          "b": {"type": "send_text", "text": "second"}}}
        """;

    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_send_throttled_with_130429_is_retried_with_back_off_and_sent_once_and_the_run_completes()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 130429, times: 2);
        var flow = await kit.FlowAsync("throttled", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "patience"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("throttled"))));

        var run = await kit.RunAsync(flow, waId, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal([(400, (int?)130429), (400, 130429), (200, null)], hosts.Graph.RequestsFor(kit.PhoneNumberId).Select(r => (r.AnsweredWith, r.ErrorCode)));
        Assert.Equal("patience", Assert.Single(kit.SentTo(waId)).Text);
        Assert.Equal("sent:3", await hosts.Servers.ScalarAsync<string>(
            "SELECT status || ':' || attempts FROM messaging.outbound_messages WHERE run_id = @run", new { run }));
        // Nothing of it was dead-lettered: throttling is waiting, not failing.
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.outbound_messages WHERE run_id = @run AND dead_lettered_at IS NOT NULL", new { run }));
    }

    [Fact]
    public async Task The_pair_rate_limit_131056_holds_back_only_that_recipient_whose_messages_then_arrive_in_order()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("pair", TwoSends);
        var busy = WhatsAppKit.NewWaId();
        var other = WhatsAppKit.NewWaId();
        // Meta keeps answering 131056 for this recipient until the test lifts it.
        hosts.Graph.AnswerErrorTo(busy, 131056, times: 10_000);

        await kit.DeliverAsync(kit.Delivery((busy, WhatsAppKit.Text("pair")), (other, WhatsAppKit.Text("pair"))));

        var otherRun = await kit.RunAsync(flow, other, "completed");
        Assert.Equal(["first", "second"], kit.SentTo(other).Select(r => r.Text));
        var busyRun = await kit.RunAsync(flow, busy, "sending");
        await Eventually.Until(() => hosts.Servers.ScalarAsync<DateTime?>(
            "SELECT throttled_until FROM messaging.outbound_messages WHERE run_id = @busyRun AND step = 1 AND error_code = 131056", new { busyRun }),
            TimeSpan.FromSeconds(30), "the busy recipient's first message held back by 131056");
        Assert.Empty(kit.SentTo(busy));
        // The second message never went to Meta while the first waited: it waits behind it.
        Assert.All(hosts.Graph.RequestsFor(kit.PhoneNumberId).Where(r => r.To == busy), r => Assert.Equal("first", r.Text));

        hosts.Graph.StopErrorsTo(busy);
        Assert.Equal(busyRun, await kit.RunAsync(flow, busy, "completed"));
        Assert.Equal(["first", "second"], (await kit.SentAsync(busy, 2)).Select(r => r.Text));
        await hosts.Servers.SendsOfRunHandledAsync(otherRun);
        Assert.Equal(2, kit.SentTo(other).Count);
    }

    [Fact]
    public async Task An_undeliverable_131026_fails_the_message_and_the_run_at_once_with_Meta_title_and_details()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 131026);
        var flow = await kit.FlowAsync("undeliverable", TwoSends);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("undeliverable"))));

        var run = await kit.RunAsync(flow, waId, "failed");
        await hosts.Servers.HandledAsync("messaging", "SendWhatsAppMessage", await FirstOutboundAsync(run));
        Assert.Single(hosts.Graph.RequestsFor(kit.PhoneNumberId));
        var detail = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}", Cancel);
        var error = detail.GetProperty("run").GetProperty("error").GetString()!;
        Assert.Contains("Message undeliverable", error);
        Assert.Contains("(#131026) Message Undeliverable.", error);
        Assert.StartsWith("step 1:", error);
        var first = detail.GetProperty("outbound_messages")[0];
        Assert.Equal("failed", first.GetProperty("latest_status").GetString());
        Assert.Equal(131026, first.GetProperty("error_code").GetInt32());
        Assert.Equal(1, first.GetProperty("attempts").GetInt32());
        // The run's second message is never sent after the first failed for good.
        Assert.Equal("queued", detail.GetProperty("outbound_messages")[1].GetProperty("status").GetString());
        Assert.Empty(kit.SentTo(waId));
    }

    [Fact]
    public async Task An_expired_token_190_pauses_the_channel_keeps_its_messages_queued_and_a_new_token_resumes_them()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 190);
        var flow = await kit.FlowAsync("expired", TwoSends);
        var first = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((first, WhatsAppKit.Text("expired"))));

        var channel = (await Eventually.Until(async () =>
        {
            var channels = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>("/api/messaging/channels", Cancel);
            return channels.EnumerateArray().FirstOrDefault(c => c.GetProperty("phone_number_id").GetString() == kit.PhoneNumberId && c.GetProperty("paused").GetBoolean())
                is { ValueKind: JsonValueKind.Object } paused ? (JsonElement?)paused : null;
        }, TimeSpan.FromSeconds(30), "the channel paused"))!.Value;
        Assert.Equal(190, channel.GetProperty("paused_code").GetInt32());
        Assert.Contains("Error validating access token", channel.GetProperty("paused_reason").GetString());

        // Another contact's run meanwhile: its message is held too, without asking Meta.
        var second = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((second, WhatsAppKit.Text("expired"))));
        var firstRun = await kit.RunAsync(flow, first, "sending");
        var secondRun = await kit.RunAsync(flow, second, "sending");
        await hosts.Servers.HandledAsync("messaging", "SendWhatsAppMessage", await FirstOutboundAsync(secondRun));
        Assert.Single(hosts.Graph.RequestsFor(kit.PhoneNumberId));
        Assert.Equal(4, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.outbound_messages WHERE run_id IN (@firstRun, @secondRun) AND status = 'queued'", new { firstRun, secondRun }));
        Assert.Equal(4, await QueuedAsync(kit));

        // The owner saves the channel with a new token: Runtime.Api announces it, sending resumes with it.
        const string fresh = "renewed-token";
        hosts.Graph.Grant(fresh + kit.PhoneNumberId, kit.PhoneNumberId);
        var saved = await kit.Workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}",
            new { display_phone_number = "+1 555 0100", access_token = fresh + kit.PhoneNumberId }, TestWorkspace.Json, Cancel);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Cancel));

        Assert.Equal(firstRun, await kit.RunAsync(flow, first, "completed"));
        Assert.Equal(secondRun, await kit.RunAsync(flow, second, "completed"));
        Assert.Equal(["first", "second"], (await kit.SentAsync(first, 2)).Select(r => r.Text));
        Assert.Equal(["first", "second"], (await kit.SentAsync(second, 2)).Select(r => r.Text));
        Assert.All(hosts.Graph.SentFor(kit.PhoneNumberId), r => Assert.Equal("Bearer " + fresh + kit.PhoneNumberId, r.Authorization));
        Assert.False(await hosts.Servers.ScalarAsync<bool>("SELECT paused_at IS NOT NULL FROM messaging.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId }));
    }

    [Fact]
    public async Task An_owner_resumes_a_paused_channel_by_hand_and_resuming_one_that_is_not_paused_is_a_conflict()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 190);
        var flow = await kit.FlowAsync("by hand", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "resumed"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("by hand"))));
        var run = await kit.RunAsync(flow, waId, "sending");
        await Eventually.Until(() => hosts.Servers.ScalarAsync<int?>(
            "SELECT paused_code FROM messaging.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId }), TimeSpan.FromSeconds(30), "the channel paused");

        var resumed = await kit.Workspace.Worker.PostAsync($"/api/messaging/channels/{kit.PhoneNumberId}/resume", null, Cancel);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("paused").GetBoolean());
        Assert.Equal(run, await kit.RunAsync(flow, waId, "completed"));
        Assert.Equal("resumed", Assert.Single(kit.SentTo(waId)).Text);

        Assert.Equal(HttpStatusCode.Conflict, (await kit.Workspace.Worker.PostAsync($"/api/messaging/channels/{kit.PhoneNumberId}/resume", null, Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await kit.Workspace.Worker.PostAsync($"/api/messaging/channels/{WhatsAppKit.NewPhoneNumberId()}/resume", null, Cancel)).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_run_while_its_channel_is_paused_withdraws_its_queued_sends_and_resuming_sends_none_of_them()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 190);
        var flow = await kit.FlowAsync("withdrawn", TwoSends);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("withdrawn"))));
        var run = await kit.RunAsync(flow, waId, "sending");
        await Eventually.Until(() => hosts.Servers.ScalarAsync<int?>(
            "SELECT paused_code FROM messaging.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId }), TimeSpan.FromSeconds(30), "the channel paused");

        var cancelled = await kit.Workspace.Worker.PostAsync($"/api/messaging/runs/{run}/cancel", null, Cancel);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled,cancelled", await hosts.Servers.ScalarAsync<string>(
            "SELECT string_agg(status, ',' ORDER BY step) FROM messaging.outbound_messages WHERE run_id = @run", new { run }));

        // Resuming the channel now sends a later run's message, and still nothing of the cancelled run.
        var resumed = await kit.Workspace.Worker.PostAsync($"/api/messaging/channels/{kit.PhoneNumberId}/resume", null, Cancel);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var later = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((later, WhatsAppKit.Text("withdrawn"))));
        await kit.RunAsync(flow, later, "completed");
        Assert.Empty(kit.SentTo(waId));
        Assert.Equal("cancelled", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run", new { run }));
    }

    /// <summary>The run's first message (the only one sent for: the next waits behind it).</summary>
    private async Task<Guid> FirstOutboundAsync(Guid run) =>
        (await hosts.Servers.ScalarAsync<Guid?>("SELECT id FROM messaging.outbound_messages WHERE run_id = @run AND step = 1", new { run }))!.Value;

    private async Task<int> QueuedAsync(WhatsAppKit kit)
    {
        var channels = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>("/api/messaging/channels", Cancel);
        return channels.EnumerateArray().First(c => c.GetProperty("phone_number_id").GetString() == kit.PhoneNumberId).GetProperty("queued").GetInt32();
    }
}
