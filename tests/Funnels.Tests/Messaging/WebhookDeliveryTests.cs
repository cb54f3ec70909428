using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>Lead events reach the workspace's webhook endpoints signed, retried, and dead-lettered at last.</summary>
[Collection(ServicesCollection.Name)]
public sealed class WebhookDeliveryTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_captured_lead_is_delivered_once_with_a_signature_the_receiver_can_check()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var secret = await SubscribeAsync(workspace, receiver);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var lead = await LeadIdOf(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("hook@example.com")));

        var received = await Eventually.Until(() => Task.FromResult(receiver.Requests.FirstOrDefault()), TimeSpan.FromSeconds(30), "the webhook");
        var timestamp = received.Headers["X-Funnels-Timestamp"];
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{received.Body}")));
        Assert.Equal(expected, received.Headers["X-Funnels-Signature"]);
        Assert.Equal("lead.captured", received.Headers["X-Funnels-Event"]);
        var body = JsonDocument.Parse(received.Body).RootElement;
        Assert.Equal("lead.captured", body.GetProperty("event").GetString());
        Assert.Equal(lead, body.GetProperty("data").GetProperty("lead_id").GetGuid());
        Assert.Equal("hook@example.com", body.GetProperty("data").GetProperty("email").GetString());

        // A second submission of the same person is not a new capture: once everything it caused was
        // handled (a tracked session through RabbitMQ and the worker's queues), still one lead.captured.
        await hosts.TrackedAsync(async () => (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("hook@example.com"))).EnsureSuccessStatusCode());
        await hosts.Servers.WebhookDeliveriesHandledAsync(workspace.Id);
        Assert.Single(receiver.Requests, r => r.Headers["X-Funnels-Event"] == "lead.captured");
    }

    [Fact]
    public async Task A_receiver_failing_twice_gets_the_delivery_on_the_third_attempt_and_every_attempt_is_recorded()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500);
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        await SubscribeAsync(workspace, receiver);
        var hook = (await workspace.Worker.GetFromJsonAsync<JsonElement>("/api/messaging/webhooks", Cancel))[0].GetProperty("id").GetGuid();
        var funnel = await TestFunnel.PublishAsync(workspace);

        await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("retry@example.com"));

        var delivery = await Eventually.Until(async () =>
        {
            var page = await workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/webhooks/{hook}/deliveries", Cancel);
            return page.GetProperty("items").EnumerateArray().FirstOrDefault(d => d.GetProperty("status").GetString() == "delivered") is { ValueKind: JsonValueKind.Object } d ? (JsonElement?)d : null;
        }, TimeSpan.FromSeconds(30), "the delivery to succeed");
        Assert.Equal([500, 500, 200], delivery!.Value.GetProperty("attempt_log").EnumerateArray().Select(a => a.GetProperty("status_code").GetInt32()));
        Assert.Equal([500, 500, 200], receiver.Requests.Select(r => r.AnsweredWith));
    }

    [Fact]
    public async Task After_the_last_retry_the_delivery_is_dead_lettered()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500, 500, 500);
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        await SubscribeAsync(workspace, receiver);
        var funnel = await TestFunnel.PublishAsync(workspace);

        await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("dead@example.com"));

        var deliveryId = await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT id FROM messaging.webhook_deliveries WHERE workspace_id = @Id AND status = 'dead'", new { workspace.Id }), TimeSpan.FromSeconds(30), "the delivery to die");
        await Eventually.Until(async () => await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE message_type LIKE '%DeliverWebhook%' AND position(convert_to(@id, 'UTF8') in body) > 0",
            new { id = deliveryId!.Value.ToString() }) is > 0 and var n ? (long?)n : null, TimeSpan.FromSeconds(15), "the dead letter");
        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal(3, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.webhook_attempts WHERE delivery_id = @deliveryId", new { deliveryId }));
    }

    private async Task<string> SubscribeAsync(TestWorkspace workspace, WebhookReceiver receiver)
    {
        var created = await workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = receiver.Url, events = new[] { "lead.captured" } }, Cancel);
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("secret").GetString()!;
    }

    private async Task<Guid> LeadIdOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("lead_id").GetGuid();
}
