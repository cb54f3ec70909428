using System.Net;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// docs/whatsapp-and-flows.md, Runs: a run's messages go out in step order; a send waits while an
/// earlier send of the run is queued or retrying, and a dead-lettered send holds the later ones
/// until it is replayed. Proven by the order the fake Graph API received them in, whatever the timing.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class SendOrderTests(Hosts hosts)
{
    private const string ThreeTexts = """
        {"start": "a", "nodes": {
          "a": {"type": "send_text", "text": "first", "next": "b"},
          "b": {"type": "send_text", "text": "second", "next": "c"},
          "c": {"type": "send_text", "text": "third"}}}
        """;

    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Later_sends_wait_while_an_earlier_one_is_retried()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        // The first send is refused twice (transient) before Meta takes it.
        hosts.Graph.Answer(kit.PhoneNumberId, 503, 503);
        var phrase = "in order " + Guid.NewGuid().ToString("N")[..6];
        var flow = await kit.FlowAsync(phrase, ThreeTexts);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text(phrase))));

        var run = await kit.RunAsync(flow, waId, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);

        Assert.Equal(["first 503", "first 503", "first 200", "second 200", "third 200"], Received(kit, waId));
    }

    [Fact]
    public async Task A_dead_lettered_send_holds_the_later_ones_until_it_is_replayed()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 503, 503, 503);
        var phrase = "held " + Guid.NewGuid().ToString("N")[..6];
        var flow = await kit.FlowAsync(phrase, ThreeTexts);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text(phrase))));

        var run = await kit.RunAsync(flow, waId, "dead_lettered");
        var first = (await hosts.Servers.ScalarAsync<Guid?>("SELECT id FROM messaging.outbound_messages WHERE run_id = @run AND step = 1", new { run }))!.Value;
        var deadLetter = (await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT id FROM messaging_wolverine.wolverine_dead_letters WHERE position(convert_to(@first, 'UTF8') in body) > 0", new { first = first.ToString() }),
            TimeSpan.FromSeconds(60), "the first send in the dead letters"))!.Value;
        // Held: the later messages are recorded, not sent.
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.outbound_messages WHERE run_id = @run AND id <> @first AND status = 'sent'", new { run, first }));

        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);
        Assert.Equal(HttpStatusCode.Accepted, (await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);
        await kit.RunAsync(flow, waId, "completed", seconds: 60);
        await hosts.Servers.SendsOfRunHandledAsync(run);

        // Nothing of the later steps reached Meta before the replayed first one.
        Assert.Equal(["first 503", "first 503", "first 503", "first 200", "second 200", "third 200"], Received(kit, waId));
    }

    /// <summary>What the Graph API received for the contact, in arrival order, with what it answered.</summary>
    private List<string> Received(WhatsAppKit kit, string waId) =>
        hosts.Graph.RequestsFor(kit.PhoneNumberId).Where(r => r.To == waId).Select(r => $"{r.Text} {r.AnsweredWith}").ToList();
}
