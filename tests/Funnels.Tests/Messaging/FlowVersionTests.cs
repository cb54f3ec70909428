using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>docs/whatsapp-and-flows.md: "A changed graph becomes a new version; runs keep the version they started with."</summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowVersionTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string Definition(string version) => """
        {"start": "ask", "nodes": {
          "ask": {"type": "send_text", "text": "VERSION asks", "next": "wait"},
          "wait": {"type": "wait_for_reply", "timeout_seconds": 3600, "timeout_path": "after", "next": "after"},
          "after": {"type": "send_text", "text": "VERSION answers {{reply.text}}"}}}
        """.Replace("VERSION", version);

    [Fact]
    public async Task A_run_started_on_version_1_continues_on_version_1_after_version_2_is_saved()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var phrase = "versions " + Guid.NewGuid().ToString("N")[..6];
        var flow = await kit.FlowAsync(phrase, Definition("v1"));
        var early = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((early, WhatsAppKit.Text(phrase))));
        var run = await kit.RunAsync(flow, early, "waiting");
        Assert.Equal("v1 asks", Assert.Single(await kit.SentAsync(early, 1)).Text);

        // Version 2 replaces every text while the run waits for its reply.
        var saved = await kit.Workspace.Worker.PutAsync($"/api/messaging/flows/{flow}", new StringContent(new JsonObject
        {
            ["name"] = "Versions", ["status"] = "active", ["channel_phone_number_id"] = kit.PhoneNumberId,
            ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = phrase }),
            ["definition"] = JsonNode.Parse(Definition("v2")),
        }.ToJsonString(), Encoding.UTF8, "application/json"), Cancel);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Cancel));
        Assert.Equal(2, (await saved.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("version").GetInt32());

        await kit.DeliverAsync(kit.Delivery((early, WhatsAppKit.Text("fine"))));
        await kit.RunAsync(flow, early, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal(["v1 asks", "v1 answers fine"], kit.SentTo(early).Select(r => r.Text));
        Assert.Equal(1, await hosts.Servers.ScalarAsync<int>("SELECT flow_version FROM messaging.flow_runs WHERE id = @run", new { run }));

        // A run started now takes version 2.
        var late = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((late, WhatsAppKit.Text(phrase))));
        var second = await kit.RunAsync(flow, late, "waiting");
        Assert.Equal("v2 asks", Assert.Single(await kit.SentAsync(late, 1)).Text);
        Assert.Equal(2, await hosts.Servers.ScalarAsync<int>("SELECT flow_version FROM messaging.flow_runs WHERE id = @second", new { second }));
    }
}
