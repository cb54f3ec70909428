using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>A workspace with several WhatsApp numbers: a phrase starts the flows of the number it was sent to.</summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowChannelTests(Hosts hosts)
{
    [Fact]
    public async Task A_phrase_starts_the_flows_bound_to_the_number_it_was_sent_to_and_those_bound_to_none()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var otherNumber = await kit.AddNumberAsync();
        const string definition = """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "Hi"}}}""";
        var onThisNumber = await kit.FlowAsync("menu please", definition);
        var onTheOther = await kit.FlowOnAsync(otherNumber, "menu please", definition);
        var onAny = await kit.FlowOnAsync(null, "menu please", definition);
        var waId = WhatsAppKit.NewWaId();

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("Menu please"))));

        // The message's triggers are written together, so once these two runs exist a third would too.
        await kit.RunAsync(onThisNumber, waId, "completed");
        await kit.RunAsync(onAny, waId, "completed");
        Assert.Equal(0L, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @onTheOther", new { onTheOther }));
        // Both runs answer from the number the message came to.
        Assert.Equal(2, (await kit.SentAsync(waId, 2)).Count);
    }
}
