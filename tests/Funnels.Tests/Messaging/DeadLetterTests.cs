using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// An operator's two actions on a dead letter (docs/whatsapp-and-flows.md, "Dead letters"): a discard
/// removes it for good, and a replay sent twice still sends once. FlowRunTests has the plain replay.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class DeadLetterTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_discarded_dead_letter_is_gone_and_its_send_never_goes_out()
    {
        var (kit, waId, run, outbound, deadLetter) = await DeadLetteredSendAsync("discarded");
        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);

        // A workspace's owner may not; the operator may, once.
        Assert.Equal(HttpStatusCode.Forbidden, (await kit.Workspace.Worker.DeleteAsync($"/api/messaging/dead-letters/{deadLetter}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await operatorClient.DeleteAsync($"/api/messaging/dead-letters/{deadLetter}", Cancel)).StatusCode);

        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE id = @deadLetter", new { deadLetter }));
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.DeleteAsync($"/api/messaging/dead-letters/{deadLetter}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);
        // Nothing is left to send it: not in the inbox, and the run keeps its place as dead_lettered.
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging_wolverine.wolverine_incoming_envelopes WHERE status <> 'Handled' AND position(convert_to(@outbound, 'UTF8') in body) > 0",
            new { outbound = outbound.ToString() }));
        Assert.Empty(kit.SentTo(waId));
        Assert.Equal("dead_lettered", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run", new { run }));
    }

    [Fact]
    public async Task A_dead_letter_replayed_twice_is_sent_once()
    {
        var (kit, waId, run, outbound, deadLetter) = await DeadLetteredSendAsync("replayed twice");
        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);

        // Two operators press Replay at once: both are taken (the row is still there) or the second finds it gone.
        var replays = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ =>
            operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)));
        Assert.All(replays, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.NotFound }));
        Assert.Contains(replays, r => r.StatusCode == HttpStatusCode.Accepted);

        await kit.SentAsync(waId, 1);
        await Eventually.Until(async () => await hosts.Servers.CountAsync(
                "SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE id = @deadLetter", new { deadLetter }) == 0 ? (bool?)true : null,
            TimeSpan.FromSeconds(60), "the dead letter to leave the store");
        // A third replay, after the send went out, finds nothing to replay.
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Single(kit.SentTo(waId));
        Assert.Equal("sent", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.outbound_messages WHERE id = @outbound", new { outbound }));
        Assert.Equal(run, await kit.RunAsync(await FlowOf(run), waId, "completed"));
    }

    /// <summary>A run whose only send Meta refused three times with 503: retried, then dead-lettered.</summary>
    private async Task<(WhatsAppKit Kit, string WaId, Guid Run, Guid Outbound, Guid DeadLetter)> DeadLetteredSendAsync(string phrase)
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 503, 503, 503);
        var flow = await kit.FlowAsync(phrase, """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "at last"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text(phrase))));
        var run = await kit.RunAsync(flow, waId, "dead_lettered");
        var outbound = (await hosts.Servers.ScalarAsync<Guid?>("SELECT id FROM messaging.outbound_messages WHERE run_id = @run", new { run }))!.Value;
        var deadLetter = await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT id FROM messaging_wolverine.wolverine_dead_letters WHERE position(convert_to(@outbound, 'UTF8') in body) > 0",
            new { outbound = outbound.ToString() }), TimeSpan.FromSeconds(60), "the send in the dead letters");
        Assert.Equal(3, hosts.Graph.RequestsFor(kit.PhoneNumberId).Count);
        return (kit, waId, run, outbound, deadLetter!.Value);
    }

    private Task<Guid> FlowOf(Guid run) => hosts.Servers.ScalarAsync<Guid>("SELECT flow_id FROM messaging.flow_runs WHERE id = @run", new { run });
}
