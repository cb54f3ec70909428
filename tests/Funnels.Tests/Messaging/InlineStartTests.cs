using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>A delivery's runs start inline; one flow that cannot start fails neither the delivery nor the other flows.</summary>
[Collection(ServicesCollection.Name)]
public sealed class InlineStartTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_flow_failing_to_start_takes_the_ExecuteTrigger_path_while_the_delivery_and_the_other_flows_go_on()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var good = await kit.FlowAsync("join now", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "Welcome"}}}""");
        var broken = await kit.FlowAsync("join now", """{"start": "tag", "nodes": {"tag": {"type": "set_attribute", "key": "joined", "value": "yes", "next": "a"}, "a": {"type": "send_text", "text": "Tagged"}}}""");
        // What the validator would refuse: a null attribute key makes PostgreSQL fail the statement (and so the transaction, but for the savepoint).
        const string fixedDefinition = """{"start": "tag", "nodes": {"tag": {"type": "set_attribute", "key": "joined", "value": "yes", "next": "a"}, "a": {"type": "send_text", "text": "Tagged"}}}""";
        await hosts.Servers.ScalarAsync<int>("""
            UPDATE messaging.flow_versions SET definition = jsonb_set(definition, '{nodes,tag,key}', 'null') WHERE flow_id = @broken RETURNING version
            """, new { broken });
        var clickers = new[] { WhatsAppKit.NewWaId(), WhatsAppKit.NewWaId(), WhatsAppKit.NewWaId() };
        var typer = WhatsAppKit.NewWaId();

        await kit.DeliverAsync(kit.Delivery([.. clickers.Select(c => (c, WhatsAppKit.ButtonReply("join", "Join now"))), (typer, WhatsAppKit.Text("hello"))]));

        foreach (var clicker in clickers)
        {
            await kit.RunAsync(good, clicker, "completed");
            Assert.Equal("Welcome", Assert.Single(await kit.SentAsync(clicker, 1)).Text);
        }
        Assert.Equal(4, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.inbound_messages WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId }));
        // Started in the delivery's own transaction: now() is the same for the trigger and its run.
        Assert.Equal(3, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.flow_runs r JOIN messaging.scheduled_triggers t ON t.id = r.trigger_id WHERE r.flow_id = @good AND r.started_at = t.created_at", new { good }));

        // The broken flow's starts ran out of retries as ExecuteTrigger messages; their triggers are still queued.
        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);
        var triggers = (await hosts.Servers.ScalarAsync<Guid[]>("SELECT array_agg(id) FROM messaging.scheduled_triggers WHERE flow_id = @broken AND status = 'queued'", new { broken }))!;
        Assert.Equal(3, triggers.Length);
        var deadLetters = await Eventually.Until(async () =>
        {
            var page = await operatorClient.GetFromJsonAsync<JsonElement>("/api/messaging/dead-letters?message_type=ExecuteTrigger&page_size=200", Cancel);
            var ids = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ToArray();
            var found = new List<Guid>();
            foreach (var trigger in triggers)
            {
                found.AddRange(await hosts.Servers.ScalarAsync<Guid[]>(
                    "SELECT coalesce(array_agg(id), '{}') FROM messaging_wolverine.wolverine_dead_letters WHERE id = ANY(@ids) AND position(convert_to(@trigger, 'UTF8') in body) > 0",
                    new { ids, trigger = trigger.ToString() }) ?? []);
            }
            return found.Count == triggers.Length ? found : null;
        }, TimeSpan.FromSeconds(30), "the broken flow's ExecuteTrigger messages in the dead letters");
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @broken", new { broken }));

        // Repaired and replayed, each trigger starts its run once.
        await hosts.Servers.ScalarAsync<int>("UPDATE messaging.flow_versions SET definition = @fixedDefinition::jsonb WHERE flow_id = @broken RETURNING version", new { broken, fixedDefinition });
        foreach (var deadLetter in deadLetters)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);
        }
        foreach (var clicker in clickers)
        {
            await kit.RunAsync(broken, clicker, "completed");
            await kit.SentAsync(clicker, 2);
        }
        Assert.Equal(3, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.flow_runs r JOIN messaging.scheduled_triggers t ON t.id = r.trigger_id WHERE r.flow_id = @broken AND r.started_at > t.created_at", new { broken }));
        Assert.Empty(kit.SentTo(typer));
    }
}
