extern alias runtime;
using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>Meta's webhook: the challenge, signatures, and Meta's repeated deliveries.</summary>
[Collection(ServicesCollection.Name)]
public sealed class MetaWebhookTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_verification_challenge_is_answered_only_for_the_configured_token()
    {
        using var client = hosts.Runtime.CreateClient();
        var token = ServiceHost<runtime::Program>.MetaVerifyToken;
        var ok = await client.GetAsync($"/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", Cancel);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("1158201444", await ok.Content.ReadAsStringAsync(Cancel));

        var wrong = await client.GetAsync("/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        var missing = await client.GetAsync("/webhooks/meta?hub.mode=subscribe&hub.challenge=1", Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, missing.StatusCode);
    }

    [Fact]
    public async Task A_delivery_signed_with_the_app_secret_is_accepted_and_a_wrong_or_missing_signature_is_refused()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var waId = WhatsAppKit.NewWaId();
        var wamid = WhatsAppKit.NewWamid();
        var body = kit.Delivery((waId, WhatsAppKit.Text("hello there", wamid)));

        var unsigned = await WhatsAppKit.PostSignedAsync(hosts, body, null);
        var forged = await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body, "another-secret"));
        var tampered = await WhatsAppKit.PostSignedAsync(hosts, body.Replace("hello there", "hello thera"), WhatsAppKit.Sign(body));
        var garbage = await WhatsAppKit.PostSignedAsync(hosts, body, "sha256=zz");
        Assert.All([unsigned, forged, tampered, garbage], r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_webhook_events WHERE body LIKE '%' || @wamid || '%'", new { wamid }));

        var accepted = await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_webhook_events WHERE body LIKE '%' || @wamid || '%'", new { wamid }));
        var text = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT text FROM messaging.inbound_messages WHERE wamid = @wamid AND workspace_id = @Id", new { wamid, kit.Workspace.Id }), TimeSpan.FromSeconds(20), "the inbound message");
        Assert.Equal("hello there", text);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.contacts WHERE workspace_id = @Id AND wa_id = @waId AND phone = '+' || @waId AND name = 'Ana'", new { kit.Workspace.Id, waId }));
    }

    [Fact]
    public async Task An_oversized_delivery_is_refused_with_413_and_nothing_is_stored()
    {
        // Meta's deliveries may be up to 3 MB: the default limit (WhatsApp:MaxBodyBytes) is 3 MiB.
        var body = "{\"object\":\"whatsapp_business_account\",\"padding\":\"" + new string('x', 3 * 1024 * 1024) + "\"}";
        var response = await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("Payload too large", JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("title").GetString());
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_webhook_events WHERE length(body) > 3 * 1048576"));
    }

    [Fact]
    public async Task A_signed_delivery_of_two_and_a_half_megabytes_is_accepted_and_kept()
    {
        // Shaped like Meta's status notifications, batched: one entry, one change, thousands of statuses
        // (for a number nobody claimed, so the worker keeps it and runs nothing).
        var phoneNumberId = WhatsAppKit.NewPhoneNumberId();
        var marker = Guid.NewGuid().ToString("N");
        var statuses = new System.Text.Json.Nodes.JsonArray();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString();
        while (statuses.ToJsonString().Length < 2_500_000)
        {
            for (var i = 0; i < 500; i++)
            {
                statuses.Add(new System.Text.Json.Nodes.JsonObject
                {
                    ["id"] = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA" + marker + statuses.Count,
                    ["status"] = "delivered",
                    ["timestamp"] = timestamp,
                    ["recipient_id"] = "16505551234",
                    ["conversation"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["id"] = "CONVERSATION_ID",
                        ["expiration_timestamp"] = timestamp,
                        ["origin"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "utility" },
                    },
                    ["pricing"] = new System.Text.Json.Nodes.JsonObject { ["billable"] = true, ["pricing_model"] = "CBP", ["category"] = "utility" },
                });
            }
        }
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["object"] = "whatsapp_business_account",
            ["entry"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
            {
                ["id"] = "102290129340398",
                ["changes"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                {
                    ["field"] = "messages",
                    ["value"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["messaging_product"] = "whatsapp",
                        ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["display_phone_number"] = "15550100", ["phone_number_id"] = phoneNumberId },
                        ["statuses"] = statuses,
                    },
                }),
            }),
        }.ToJsonString();
        Assert.InRange(body.Length, 2_500_000, 3_000_000);

        var response = await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, await hosts.Servers.ScalarAsync<int>(
            "SELECT length(body) FROM runtime.whatsapp_webhook_events WHERE body LIKE '%' || @marker || '0\"%'", new { marker }));
    }

    [Fact]
    public async Task A_duplicate_Meta_delivery_is_processed_once()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("promo", """{"start": "hi", "nodes": {"hi": {"type": "send_text", "text": "Welcome!"}}}""");
        var waId = WhatsAppKit.NewWaId();
        var wamid = WhatsAppKit.NewWamid();
        var body = kit.Delivery((waId, WhatsAppKit.Text("PROMO", wamid)));

        // Meta retries a delivery it thinks failed, and may batch the same message in another delivery.
        await kit.DeliverAsync(body);
        await kit.DeliverAsync(body);
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("PROMO", wamid)), (waId, WhatsAppKit.Text("something else"))));

        await kit.RunAsync(flow, waId, "completed");
        await kit.SentAsync(waId, 1);
        await Eventually.Until(async () => await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.inbound_messages WHERE workspace_id = @Id", new { kit.Workspace.Id }) is 2 ? (long?)2 : null,
            TimeSpan.FromSeconds(20), "both distinct messages recorded");
        // All three deliveries consumed, and the one run's send: the counts below are final.
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", wamid, handled: 3);
        await hosts.Servers.SendsOfFlowHandledAsync(flow);
        Assert.Equal(3, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_webhook_events WHERE body LIKE '%' || @wamid || '%'", new { wamid }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.inbound_messages WHERE wamid = @wamid", new { wamid }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow", new { flow }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @flow", new { flow }));
        Assert.Single(kit.SentTo(waId));
        Assert.Equal("Bearer " + kit.AccessToken, kit.SentTo(waId)[0].Authorization);
    }

    [Fact]
    public async Task A_flow_with_unknown_nodes_dangling_paths_or_bad_regexes_is_refused_with_their_paths()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var body = """
            {"name": "Broken", "status": "active", "triggers": [{"type": "phrase", "phrase": "x"}, {"type": "bogus"}],
             "definition": {"start": "a", "nodes": {
                "a": {"type": "send_text", "text": "hi", "next": "nowhere"},
                "b": {"type": "teleport"},
                "c": {"type": "wait_for_reply", "pattern": "([a-z", "timeout_seconds": 5, "timeout_path": "a"},
                "d": {"type": "intent", "map": {"yes": "a", "no": "ghost"}, "default": "a"},
                "e": {"type": "wait", "seconds": 0}}}}
            """;
        var response = await kit.Workspace.Worker.PostAsync("/api/messaging/flows", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(Cancel), cancellationToken: Cancel)).RootElement.GetProperty("errors");
        Assert.Equal(
            ["definition.nodes.a.next", "definition.nodes.b.type", "definition.nodes.c.pattern", "definition.nodes.d.map.no", "definition.nodes.e.seconds", "triggers[1].type"],
            errors.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flows WHERE workspace_id = @Id", new { kit.Workspace.Id }));
    }
}
