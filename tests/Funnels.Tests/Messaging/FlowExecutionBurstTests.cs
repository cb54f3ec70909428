using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// One burst of trigger matches is drained by several worker instances, each run executed once.
/// A delivery's runs start on the instance that parses it, so the burst comes as several deliveries.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowExecutionBurstTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_worker_instances_drain_one_burst_of_executions_and_no_run_executes_twice()
    {
        var second = hosts.NewWorker();
        second.StartServer();
        try
        {
            await DrainAsync();
        }
        finally
        {
            await Hosts.StopWorkerAsync(second);
        }
    }

    private async Task DrainAsync()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("Join Now", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "Welcome {{contact.wa_id}}"}}}""");
        var contacts = Enumerable.Range(0, 200).Select(_ => WhatsAppKit.NewWaId()).Distinct().ToArray();

        // Meta batches messages: deliveries of 10 clicks.
        foreach (var batch in contacts.Chunk(10))
        {
            await kit.DeliverAsync(kit.Delivery(batch.Select(c => (c, WhatsAppKit.ButtonReply("join", "join now"))).ToArray()));
        }

        await Eventually.Until(async () => await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @flow AND status = 'completed'", new { flow }) == contacts.Length ? (bool?)true : null,
            TimeSpan.FromSeconds(90), "every run to complete");
        await Eventually.Until(() => Task.FromResult(hosts.Graph.SentFor(kit.PhoneNumberId).Count >= contacts.Length ? (bool?)true : null),
            TimeSpan.FromSeconds(60), "every send");
        // Every delivery and every send consumed (none waiting, retrying or scheduled): the counts below are final.
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", kit.PhoneNumberId, handled: contacts.Chunk(10).Count());
        await hosts.Servers.SendsOfFlowHandledAsync(flow);

        Assert.Equal(contacts.Length, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow AND status = 'started'", new { flow }));
        Assert.Equal(contacts.Length, await hosts.Servers.CountAsync("SELECT count(DISTINCT trigger_id) FROM messaging.flow_runs WHERE flow_id = @flow", new { flow }));
        Assert.Equal(contacts.Length, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.flow_run_steps s JOIN messaging.flow_runs r ON r.id = s.run_id WHERE r.flow_id = @flow", new { flow }));
        var sent = hosts.Graph.SentFor(kit.PhoneNumberId);
        Assert.Equal(contacts.Length, sent.Count);
        Assert.Equal(contacts.Order(), sent.Select(r => r.To).Order());
        Assert.Equal(2, await hosts.Servers.CountAsync("SELECT count(DISTINCT executed_by) FROM messaging.flow_runs WHERE flow_id = @flow", new { flow }));
    }
}
