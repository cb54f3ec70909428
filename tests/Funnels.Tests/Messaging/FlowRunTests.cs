using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>Triggers, the flow engine's nodes and durable waits, end to end through Meta's webhook and a fake Graph API.</summary>
[Collection(ServicesCollection.Name)]
public sealed class FlowRunTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_button_click_with_odd_case_and_spacing_starts_the_flow_of_the_matching_trigger()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("Start   Tour", """
            {"start": "hello", "nodes": {
              "hello": {"type": "send_text", "text": "Hello {{contact.name}}, you tapped {{trigger.text}}", "next": "tag"},
              "tag": {"type": "set_attribute", "key": "source", "value": "button", "next": "done"},
              "done": {"type": "end"}}}
            """);
        var other = await kit.FlowAsync("stop", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "never"}}}""");
        var clicker = WhatsAppKit.NewWaId();
        var templateClicker = WhatsAppKit.NewWaId();
        var typer = WhatsAppKit.NewWaId();

        await kit.DeliverAsync(kit.Delivery(
            (clicker, WhatsAppKit.ButtonReply("btn-1", "  sTART \t  tour ")),
            (templateClicker, WhatsAppKit.QuickReply("Take the tour", "ｓｔａｒｔ　ＴＯＵＲ")),
            (typer, WhatsAppKit.Text("start tour please"))));

        await kit.RunAsync(flow, clicker, "completed");
        await kit.RunAsync(flow, templateClicker, "completed");
        var sent = await kit.SentAsync(clicker, 1);
        Assert.Equal("Hello Ana, you tapped   sTART \t  tour ", sent[0].Text);
        Assert.Equal("whatsapp", sent[0].Body.GetProperty("messaging_product").GetString());
        Assert.Equal("button", await hosts.Servers.ScalarAsync<string>(
            "SELECT attributes->>'source' FROM messaging.contacts WHERE workspace_id = @Id AND wa_id = @clicker", new { kit.Workspace.Id, clicker }));
        // The delivery was consumed: its three messages were matched in one transaction, the typer's to no
        // trigger (a run that failed to start inline would have left a queued trigger), and the clicker's sends are done.
        await hosts.Servers.HandledAsync("messaging", "WhatsAppWebhookReceived", typer);
        Assert.Equal(0, await hosts.Servers.CountAsync("""
            SELECT count(*) FROM messaging.scheduled_triggers t JOIN messaging.contacts c ON c.id = t.contact_id
            WHERE t.workspace_id = @Id AND (c.wa_id = @typer OR t.flow_id = @other)
            """, new { kit.Workspace.Id, typer, other }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @other", new { other }));
        await hosts.Servers.SendsOfRunHandledAsync(await kit.RunAsync(flow, clicker, "completed"));
        Assert.Empty(kit.SentTo(typer));

        var run = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{await kit.RunAsync(flow, clicker, "completed")}", Cancel);
        Assert.Equal(["send_text", "set_attribute", "end"], run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("node_type").GetString()));
        Assert.Equal("sent", run.GetProperty("outbound_messages")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_three_step_flow_with_a_delay_completes_after_a_worker_restart_that_outlasts_the_delay()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        // Longer than a graceful stop takes on a busy machine: the delay is still pending when the worker is gone.
        var flow = await kit.FlowAsync("delay me", """
            {"start": "first", "nodes": {
              "first": {"type": "send_text", "text": "one", "next": "pause"},
              "pause": {"type": "delay", "seconds": 15, "next": "last"},
              "last": {"type": "send_text", "text": "two"}}}
            """);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("Delay me"))));

        var run = await kit.RunAsync(flow, waId, "waiting");
        await kit.SentAsync(waId, 1);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        var due = await hosts.Servers.ScalarAsync<DateTime>("SELECT wait_until FROM messaging.flow_runs WHERE id = @run", new { run });

        // Down past the delay's end: the wake-up waits in PostgreSQL, not in the stopped process.
        var startedAt = await hosts.RestartWorkerAsync(async () =>
        {
            Assert.Equal("waiting", await RunStatusAsync(run)); // still waiting when the worker stopped, else nothing is proven
            await hosts.Servers.PastAsync(due, "the delay's end, with no worker running");
            Assert.Equal("waiting", await RunStatusAsync(run));
            Assert.Single(kit.SentTo(waId));
        });

        await kit.RunAsync(flow, waId, "completed");
        var sent = await kit.SentAsync(waId, 2);
        Assert.Equal(["one", "two"], sent.Select(r => r.Text));
        Assert.Equal(3, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_run_steps WHERE run_id = @run", new { run }));
        // The step after the delay ran on the fresh worker.
        Assert.True(await hosts.Servers.ScalarAsync<bool>(
            "SELECT executed_at > @startedAt FROM messaging.flow_run_steps WHERE run_id = @run AND node_id = 'last'", new { run, startedAt }));
        // The wake-up and both sends consumed (none waiting to fire again): two sends is the final count.
        await hosts.Servers.HandledAsync("messaging", "ResumeRun", run);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal(2, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.outbound_messages WHERE run_id = @run", new { run }));
        Assert.Equal(2, kit.SentTo(waId).Count);
    }

    private Task<string?> RunStatusAsync(Guid run) => hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run", new { run });

    private const string AskFlow = """
        {"start": "ask", "nodes": {
          "ask": {"type": "send_text", "text": "Shall we call you? (yes/no)", "next": "wait"},
          "wait": {"type": "wait_for_reply", "pattern": "^(?i)(yes|no)$", "timeout_seconds": 2, "timeout_path": "late", "next": "route"},
          "route": {"type": "intent", "map": {"yes": "happy", "no": "sad"}, "default": "sad"},
          "happy": {"type": "send_text", "text": "Great, {{reply.text}} it is"},
          "sad": {"type": "send_text", "text": "Maybe later"},
          "late": {"type": "send_text", "text": "Too late"}}}
        """;

    [Fact]
    public async Task Wait_for_reply_continues_on_a_matching_reply_and_the_timeout_then_does_nothing()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("call me", AskFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(flow, waId, "waiting");

        // A reply that does not match the pattern keeps the run waiting; a matching one resumes it.
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("maybe?"))));
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT context->>'last_unmatched_reply' FROM messaging.flow_runs WHERE id = @run AND status = 'waiting' AND context->>'last_unmatched_reply' = 'maybe?'",
            new { run }), TimeSpan.FromSeconds(60), "the unmatched reply recorded on the waiting run");
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("Yes"))));

        await kit.RunAsync(flow, waId, "completed");
        // The 2 s timeout fired and found the run moved on; every send of the run is done.
        await hosts.Servers.HandledAsync("messaging", "ReplyTimedOut", run);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal(["Shall we call you? (yes/no)", "Great, Yes it is"], kit.SentTo(waId).Select(r => r.Text));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow AND input->>'text' <> 'call me'", new { flow }));
    }

    [Fact]
    public async Task Wait_for_reply_without_a_reply_takes_the_timeout_path()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("call me", AskFlow);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));

        var run = await kit.RunAsync(flow, waId, "completed", seconds: 30);
        Assert.Equal(["Shall we call you? (yes/no)", "Too late"], (await kit.SentAsync(waId, 2)).Select(r => r.Text));
        Assert.Equal("late", await hosts.Servers.ScalarAsync<string>("SELECT node_id FROM messaging.flow_run_steps WHERE run_id = @run ORDER BY step DESC LIMIT 1", new { run }));
    }

    [Fact]
    public async Task A_send_that_Meta_answers_500_twice_is_retried_and_sent_exactly_once()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 500, 500);
        var flow = await kit.FlowAsync("retry", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "persistent"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("retry"))));

        var run = await kit.RunAsync(flow, waId, "completed");
        await kit.SentAsync(waId, 1);
        var outbound = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT status || ':' || attempts || ':' || (wamid IS NOT NULL) FROM messaging.outbound_messages WHERE run_id = @run AND status = 'sent'", new { run }), TimeSpan.FromSeconds(20), "the send recorded");
        Assert.Equal("sent:3:true", outbound);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal([500, 500, 200], hosts.Graph.RequestsFor(kit.PhoneNumberId).Select(r => r.AnsweredWith));
        Assert.Single(kit.SentTo(waId));
    }

    [Fact]
    public async Task A_send_that_Meta_refuses_with_400_fails_the_run_without_retry()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 400);
        var flow = await kit.FlowAsync("bad number", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "x"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("bad number"))));

        var run = await kit.RunAsync(flow, waId, "failed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Single(hosts.Graph.RequestsFor(kit.PhoneNumberId));
        Assert.Equal("failed", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.outbound_messages WHERE run_id = @run", new { run }));
    }

    [Fact]
    public async Task A_send_failing_for_good_lands_in_dead_letters_and_is_sent_once_when_replayed()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 503, 503, 503);
        var flow = await kit.FlowAsync("doomed", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "at last"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("doomed"))));
        // Not "completed" while its only message is retried and then dead-lettered: the run says so.
        var run = await kit.RunAsync(flow, waId, "dead_lettered");
        Assert.Contains("dead-lettered", await hosts.Servers.ScalarAsync<string>("SELECT error FROM messaging.flow_runs WHERE id = @run", new { run }));
        var outbound = (await hosts.Servers.ScalarAsync<Guid?>("SELECT id FROM messaging.outbound_messages WHERE run_id = @run", new { run }))!.Value;

        // Dead letters are the installation's: an operator sees them, a workspace's owner does not.
        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);
        Assert.Equal(HttpStatusCode.Forbidden, (await kit.Workspace.Worker.GetAsync("/api/messaging/dead-letters", Cancel)).StatusCode);
        var deadLetter = await Eventually.Until(async () =>
        {
            var page = await operatorClient.GetFromJsonAsync<JsonElement>("/api/messaging/dead-letters?message_type=SendWhatsAppMessage&page_size=200", Cancel);
            var ids = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ToArray();
            return await hosts.Servers.ScalarAsync<Guid?>(
                "SELECT id FROM messaging_wolverine.wolverine_dead_letters WHERE id = ANY(@ids) AND position(convert_to(@outbound, 'UTF8') in body) > 0",
                new { ids, outbound = outbound.ToString() });
        }, TimeSpan.FromSeconds(30), "the send in the dead letters");
        Assert.Equal(3, hosts.Graph.RequestsFor(kit.PhoneNumberId).Count);
        Assert.Empty(kit.SentTo(waId));

        Assert.Equal(HttpStatusCode.Forbidden, (await kit.Workspace.Worker.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);
        var replay = await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await kit.SentAsync(waId, 1);
        await Eventually.Until(async () => await hosts.Servers.CountAsync("SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters WHERE id = @deadLetter", new { deadLetter }) == 0 ? (bool?)true : null,
            TimeSpan.FromSeconds(20), "the dead letter to leave the store");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Single(kit.SentTo(waId));
        Assert.Equal("sent", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.outbound_messages WHERE id = @outbound", new { outbound }));
        // The replay moved the run on: its last message is out, so it completed.
        Assert.Equal(run, await kit.RunAsync(flow, waId, "completed"));
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.DeleteAsync($"/api/messaging/dead-letters/{deadLetter}", Cancel)).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_waiting_run_makes_its_scheduled_wake_up_do_nothing()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("cancel me", """
            {"start": "a", "nodes": {"a": {"type": "wait", "seconds": 2, "next": "b"}, "b": {"type": "send_text", "text": "never"}}}
            """);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("cancel me"))));
        var run = await kit.RunAsync(flow, waId, "waiting");

        var cancelled = await kit.Workspace.Worker.PostAsync($"/api/messaging/runs/{run}/cancel", null, Cancel);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await kit.Workspace.Worker.PostAsync($"/api/messaging/runs/{run}/cancel", null, Cancel)).StatusCode);
        // The wake-up fired (2 s after the wait began) and found the run cancelled.
        await hosts.Servers.HandledAsync("messaging", "ResumeRun", run);
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.outbound_messages WHERE run_id = @run", new { run }));
        Assert.Empty(hosts.Graph.RequestsFor(kit.PhoneNumberId));
        Assert.Equal("cancelled", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run", new { run }));
    }
}
