using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>A run says what happened to its sends: sending while they wait, completed only when Meta accepted them all.</summary>
[Collection(ServicesCollection.Name)]
public sealed class RunStateTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_flow_that_ended_is_sending_while_its_message_waits_and_completed_once_Meta_accepts_it()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.AnswerError(kit.PhoneNumberId, 190);
        var flow = await kit.FlowAsync("honest", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "eventually", "next": "b"}, "b": {"type": "end"}}}""");
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("honest"))));

        var run = await kit.RunAsync(flow, waId, "sending");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        // The flow reached its end, the message did not go out: sending, not completed, and listed so.
        var listed = await kit.Workspace.Worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs?flow_id={flow}&status=sending", Cancel);
        Assert.Equal(run, listed.GetProperty("items")[0].GetProperty("id").GetGuid());
        Assert.Equal("sending", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run AND finished_at IS NULL", new { run }));

        Assert.Equal(HttpStatusCode.OK, (await kit.Workspace.Worker.PostAsync($"/api/messaging/channels/{kit.PhoneNumberId}/resume", null, Cancel)).StatusCode);
        Assert.Equal(run, await kit.RunAsync(flow, waId, "completed"));
        Assert.True(await hosts.Servers.ScalarAsync<bool>("SELECT finished_at IS NOT NULL FROM messaging.flow_runs WHERE id = @run", new { run }));
    }

    [Fact]
    public async Task A_run_whose_send_is_dead_lettered_while_it_waits_for_a_reply_is_put_back_by_the_replay_and_takes_the_timeout()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        hosts.Graph.Answer(kit.PhoneNumberId, 503, 503, 503);
        var flow = await kit.FlowAsync("ask later", """
            {"start": "ask", "nodes": {
              "ask": {"type": "send_text", "text": "Still there?", "next": "wait"},
              "wait": {"type": "wait_for_reply", "timeout_seconds": 5, "next": "thanks", "timeout_path": "late"},
              "thanks": {"type": "send_text", "text": "Thanks"},
              "late": {"type": "send_text", "text": "Too late"}}}
            """);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("ask later"))));

        var run = await kit.RunAsync(flow, waId, "dead_lettered");
        var outbound = (await hosts.Servers.ScalarAsync<Guid?>("SELECT id FROM messaging.outbound_messages WHERE run_id = @run AND step = 1", new { run }))!.Value;
        // The wait is kept (where the run stood), its timeout found the run not waiting and did nothing.
        Assert.Equal("reply", await hosts.Servers.ScalarAsync<string>("SELECT wait_kind FROM messaging.flow_runs WHERE id = @run", new { run }));
        await hosts.Servers.HandledAsync("messaging", "ReplyTimedOut", run);
        Assert.Equal("dead_lettered", await hosts.Servers.ScalarAsync<string>("SELECT status FROM messaging.flow_runs WHERE id = @run", new { run }));

        using var operatorClient = hosts.Worker.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, Roles.Owner);
        var deadLetter = await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT id FROM messaging_wolverine.wolverine_dead_letters WHERE position(convert_to(@outbound, 'UTF8') in body) > 0", new { outbound = outbound.ToString() }),
            TimeSpan.FromSeconds(30), "the send in the dead letters");
        Assert.Equal(HttpStatusCode.Accepted, (await operatorClient.PostAsync($"/api/messaging/dead-letters/{deadLetter}/replay", null, Cancel)).StatusCode);

        // Sent at last; the run waits again, its time is long up, so it takes the timeout path at once.
        Assert.Equal(run, await kit.RunAsync(flow, waId, "completed"));
        Assert.Equal(["Still there?", "Too late"], (await kit.SentAsync(waId, 2)).Select(r => r.Text));
        Assert.Null(await hosts.Servers.ScalarAsync<string>("SELECT error FROM messaging.flow_runs WHERE id = @run", new { run }));
    }
}
