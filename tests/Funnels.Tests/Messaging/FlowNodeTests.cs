using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>Lead-capture triggers and the node types not covered elsewhere: webhook, condition, template and media sends.</summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowNodeTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_captured_lead_with_a_phone_starts_its_flow_once_which_calls_a_signed_webhook_and_branches_on_the_answer()
    {
        await using var crm = await WebhookReceiver.StartAsync();
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(kit.Workspace);
        var definition = JsonNode.Parse("""
            {"start": "ask_crm", "nodes": {
              "ask_crm": {"type": "webhook", "url": "CRM_URL", "secret": "flow-secret", "next": "check"},
              "check": {"type": "condition", "field": "webhooks.ask_crm.status", "operator": "equals", "value": "200", "then": "welcome", "else": "end"},
              "welcome": {"type": "send_template", "template": "welcome_offer", "language": "es",
                          "components": [{"type": "body", "parameters": [{"type": "text", "text": "{{contact.name}}"}]}], "next": "brochure"},
              "brochure": {"type": "send_media", "media_type": "document", "url": "https://example.com/b.pdf", "caption": "For {{attributes.plan}}",
                           "filename": "b.pdf", "next": "end"},
              "end": {"type": "end"}}}
            """.Replace("CRM_URL", crm.Url))!;
        var body = new JsonObject
        {
            ["name"] = "Lead welcome", ["status"] = "active", ["channel_phone_number_id"] = kit.PhoneNumberId,
            ["triggers"] = new JsonArray(new JsonObject { ["type"] = "lead_captured", ["funnel_id"] = funnel.Id.ToString() }),
            ["definition"] = definition,
        };
        var created = await kit.Workspace.Worker.PostAsync("/api/messaging/flows", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), Cancel);
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync(Cancel));
        var flow = (await created.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();

        var signup = new
        {
            page_id = "signup",
            form_data = new Dictionary<string, object> { ["email"] = "wa@example.com", ["name"] = "Luz", ["plan"] = "basic", ["accept"] = true, ["phone"] = "+57 300 555 0101" },
        };
        (await funnel.PostAsync("FORM_SUBMIT", signup)).EnsureSuccessStatusCode();
        // The same person again: whatever that causes is handled before the run count is read below.
        await hosts.TrackedAsync(async () => (await funnel.PostAsync("FORM_SUBMIT", signup)).EnsureSuccessStatusCode());

        var run = await kit.RunAsync(flow, "573005550101", "completed");
        var sent = await kit.SentAsync("573005550101", 2);
        Assert.Equal(["template", "document"], sent.Select(r => r.Type));
        Assert.Equal("welcome_offer", sent[0].Body.GetProperty("template").GetProperty("name").GetString());
        Assert.Equal("Luz", sent[0].Body.GetProperty("template").GetProperty("components")[0].GetProperty("parameters")[0].GetProperty("text").GetString());
        Assert.Equal("https://example.com/b.pdf", sent[1].Body.GetProperty("document").GetProperty("link").GetString());

        var call = Assert.Single(crm.Requests);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("flow-secret"),
            Encoding.UTF8.GetBytes($"{call.Headers["X-Funnels-Timestamp"]}.{call.Body}")));
        Assert.Equal(expected, call.Headers["X-Funnels-Signature"]);
        Assert.Equal($"{run}:1", call.Headers["X-Funnels-Delivery"]);
        Assert.Equal("lead_captured", JsonDocument.Parse(call.Body).RootElement.GetProperty("trigger").GetProperty("source").GetString());

        await hosts.Servers.HandledAsync("messaging", "LeadCaptured", kit.Workspace.Id.ToString());
        await hosts.Servers.SendsOfFlowHandledAsync(flow);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @flow", new { flow }));
        Assert.Equal(2, hosts.Graph.SentFor(kit.PhoneNumberId).Count(r => r.To == "573005550101"));
        var detail = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}", Cancel);
        Assert.Equal(200, detail.GetProperty("context").GetProperty("webhooks").GetProperty("ask_crm").GetProperty("status").GetInt32());
        Assert.Equal(["ask_crm", "check", "welcome", "brochure", "end"], detail.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("node_id").GetString()));
    }
}
