using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// A message matching another flow's trigger while a run waits for a reply: the waiting run's
/// flow decides (trigger_interrupts_wait). By default the new trigger wins; with false the message
/// is the run's reply; a reply the run expects is always its own.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class WaitInterruptTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const string TourFlow = """{"start": "tour", "nodes": {"tour": {"type": "send_text", "text": "Welcome to the tour"}}}""";

    /// <summary>Asks with two buttons, waits for one of them (no timeout), answers by branch.</summary>
    private static string AskFlow(string? interrupts = null, string pattern = "^call_(yes|no)$") => """
        {"start": "ask", INTERRUPTS "nodes": {
          "ask": {"type": "send_interactive", "body": "Shall we call you?",
                  "buttons": [{"id": "call_yes", "title": "Yes"}, {"id": "call_no", "title": "No"}], "next": "wait"},
          "wait": {"type": "wait_for_reply", PATTERN "next": "route"},
          "route": {"type": "intent", "map": {"call_yes": "happy"}, "default": "other"},
          "happy": {"type": "send_text", "text": "Calling you"},
          "other": {"type": "send_text", "text": "You said {{reply.text}}"}}}
        """.Replace("INTERRUPTS", interrupts is null ? "" : $"\"trigger_interrupts_wait\": {interrupts},")
        .Replace("PATTERN", pattern.Length == 0 ? "" : $"\"pattern\": \"{pattern}\",");

    [Fact]
    public async Task By_default_a_tap_matching_another_flows_trigger_cancels_the_waiting_run_naming_that_flow_and_starts_it()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var ask = await kit.FlowAsync("call me", AskFlow());
        var tour = await kit.FlowAsync("Start tour", TourFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(ask, waId, "waiting");
        await kit.SentAsync(waId, 1);

        // A button of an earlier message (not one of the waiting run's choices) whose title is the tour's trigger.
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(WhatsAppKit.ButtonReply("menu_tour", "Start tour"), WhatsAppKit.NewWamid()))));

        Assert.Equal(run, await kit.RunAsync(ask, waId, "cancelled"));
        var tourRun = await kit.RunAsync(tour, waId, "completed");
        var error = await hosts.Servers.ScalarAsync<string>("SELECT error FROM messaging.flow_runs WHERE id = @run", new { run });
        Assert.Contains($"'Flow Start tour on {kit.PhoneNumberId}' ({tour}", error);
        Assert.Contains("phrase 'start tour'", error);
        await hosts.Servers.SendsOfRunHandledAsync(tourRun);
        Assert.Equal([null, "Welcome to the tour"], kit.SentTo(waId).Select(r => r.Text));
        var detail = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}", Cancel);
        Assert.Equal("cancelled", detail.GetProperty("run").GetProperty("status").GetString());
        Assert.Equal(error, detail.GetProperty("run").GetProperty("error").GetString());
    }

    [Fact]
    public async Task With_trigger_interrupts_wait_false_the_message_is_the_waiting_runs_reply_and_the_other_flow_does_not_start()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var ask = await kit.FlowAsync("call me", AskFlow(interrupts: "false", pattern: ""));
        var tour = await kit.FlowAsync("Start tour", TourFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(ask, waId, "waiting");
        await kit.SentAsync(waId, 1);

        // A template's quick-reply button (legacy type "button") whose text is the tour's trigger.
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(WhatsAppKit.QuickReply("Start tour", "campaign-7-tour"), WhatsAppKit.NewWamid()))));

        Assert.Equal(run, await kit.RunAsync(ask, waId, "completed"));
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", waId, handled: 2);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal([null, "You said Start tour"], kit.SentTo(waId).Select(r => r.Text));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @tour", new { tour }));
    }

    [Fact]
    public async Task With_trigger_interrupts_wait_false_a_reply_the_pattern_refuses_keeps_the_run_waiting_and_starts_nothing()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var ask = await kit.FlowAsync("call me", AskFlow(interrupts: "false"));
        var tour = await kit.FlowAsync("Start tour", TourFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(ask, waId, "waiting");

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("start   TOUR"))));

        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT context->>'last_unmatched_reply' FROM messaging.flow_runs WHERE id = @run AND status = 'waiting' AND context->>'last_unmatched_reply' = 'start   TOUR'",
            new { run }), TimeSpan.FromSeconds(60), "the tour phrase recorded as the waiting run's unmatched reply");
        await hosts.Servers.HandledAsync("messaging", "ReplyReceived", run);
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @tour", new { tour }));
    }

    [Fact]
    public async Task A_tap_on_one_of_the_waiting_runs_own_buttons_is_its_reply_even_when_it_matches_another_flows_trigger()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        // No pattern: only the buttons the run sent make the tap its expected reply.
        var ask = await kit.FlowAsync("call me", AskFlow(pattern: ""));
        var yes = await kit.FlowAsync("yes", TourFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(ask, waId, "waiting");
        var buttons = (await kit.SentAsync(waId, 1))[0];

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(WhatsAppKit.ButtonReply("call_yes", "Yes"), buttons.Wamid!))));

        Assert.Equal(run, await kit.RunAsync(ask, waId, "completed"));
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", waId, handled: 2);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal([null, "Calling you"], kit.SentTo(waId).Select(r => r.Text));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @yes", new { yes }));
    }
}
