using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>Meta's status webhooks (signed as Meta signs them) move the messages we sent; its errors[] notifications are listed.</summary>
[Collection(ServicesCollection.Name)]
public sealed class DeliveryStatusTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Statuses_move_a_message_through_sent_delivered_read_and_a_late_delivered_leaves_it_read()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var (flow, run, wamid, waId) = await SentMessageAsync(kit, "statuses");

        foreach (var status in new[] { "sent", "delivered", "read" })
        {
            await kit.DeliverAsync(kit.StatusDelivery(wamid, status, waId));
            await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
                "SELECT delivery_status FROM messaging.outbound_messages WHERE wamid = @wamid AND delivery_status = @status", new { wamid, status }),
                TimeSpan.FromSeconds(30), $"the message {status}");
        }

        // Meta does not keep order: a delivered (and a sent) arriving after read change nothing.
        await kit.DeliverAsync(kit.StatusDelivery(wamid, "delivered", waId));
        await kit.DeliverAsync(kit.StatusDelivery(wamid, "sent", waId));
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", wamid, handled: 5);

        var detail = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}", Cancel);
        var message = detail.GetProperty("outbound_messages")[0];
        Assert.Equal("read", message.GetProperty("latest_status").GetString());
        Assert.Equal("read", message.GetProperty("delivery_status").GetString());
        Assert.Equal("completed", detail.GetProperty("run").GetProperty("status").GetString());

        var counts = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/deliveries?flow_id={flow}", Cancel);
        Assert.Equal(1, counts.GetProperty("read").GetInt64());
        Assert.Equal(0, counts.GetProperty("delivered").GetInt64() + counts.GetProperty("sent").GetInt64() + counts.GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task A_failed_status_with_errors_marks_the_message_and_its_completed_run_failed_with_Meta_error()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var (flow, run, wamid, waId) = await SentMessageAsync(kit, "doomed later");

        await kit.DeliverAsync(kit.StatusDelivery(wamid, "sent", waId));
        await kit.DeliverAsync(kit.StatusDelivery(wamid, "failed", waId,
            new JsonArray(WhatsAppKit.MetaError(131026, "Message undeliverable", "Message Undeliverable."))));

        Assert.Equal(run, await kit.RunAsync(flow, waId, "failed"));
        var detail = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}", Cancel);
        Assert.Contains("131026 Message undeliverable: Message Undeliverable.", detail.GetProperty("run").GetProperty("error").GetString());
        var message = detail.GetProperty("outbound_messages")[0];
        Assert.Equal("failed", message.GetProperty("latest_status").GetString());
        Assert.Equal(131026, message.GetProperty("error_code").GetInt32());

        // A delivered coming after the failure does not revive it.
        await kit.DeliverAsync(kit.StatusDelivery(wamid, "delivered", waId));
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", wamid, handled: 3);
        Assert.Equal("failed:failed", await hosts.Servers.ScalarAsync<string>(
            "SELECT status || ':' || delivery_status FROM messaging.outbound_messages WHERE wamid = @wamid", new { wamid }));
        var counts = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/deliveries?flow_id={flow}", Cancel);
        Assert.Equal(1, counts.GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task An_errors_only_notification_is_listed_for_the_channel_with_its_code()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var details = "Cloud API message throughput has been reached. " + Guid.NewGuid().ToString("N");
        await kit.DeliverAsync(kit.ErrorsDelivery(WhatsAppKit.MetaError(130429, "Rate limit hit", details)));

        var notice = (await Eventually.Until<JsonElement?>(async () =>
        {
            var page = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/channels/errors?phone_number_id={kit.PhoneNumberId}", Cancel);
            return page.GetProperty("items").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } item ? (JsonElement?)item : null;
        }, TimeSpan.FromSeconds(30), "the error notification listed"))!.Value;
        Assert.Equal(130429, notice.GetProperty("code").GetInt32());
        Assert.Equal("Rate limit hit", notice.GetProperty("title").GetString());
        Assert.Equal(details, notice.GetProperty("details").GetString());
        Assert.Equal(kit.PhoneNumberId, notice.GetProperty("phone_number_id").GetString());

        // Another workspace does not see it.
        var stranger = await WhatsAppKit.CreateAsync(hosts);
        var theirs = await stranger.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/channels/errors?phone_number_id={kit.PhoneNumberId}", Cancel);
        Assert.Equal(0, theirs.GetProperty("total").GetInt64());
    }

    /// <summary>A completed run of a one-message flow, and the wamid Meta gave its message.</summary>
    private async Task<(Guid Flow, Guid Run, string Wamid, string WaId)> SentMessageAsync(WhatsAppKit kit, string phrase)
    {
        var flow = await kit.FlowAsync(phrase, """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "hello"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text(phrase))));
        var run = await kit.RunAsync(flow, waId, "completed");
        var wamid = (await kit.SentAsync(waId, 1))[0].Wamid!;
        return (flow, run, wamid, waId);
    }
}
