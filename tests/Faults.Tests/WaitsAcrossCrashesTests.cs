extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using Dapper;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Funnels.Tests.Tracking;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// Durable waits across a crash: a flow's delay, a reply wait's timeout and two payouts (a
/// conversion's, a traffic period's) are scheduled by a worker process that is then SIGKILLed.
/// Past their due times nothing has fired (no worker runs); started again, each fires once.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class WaitsAcrossCrashesTests(Hosts hosts)
{
    // Every wait is due this long after it was scheduled: longer than scheduling the four and killing
    // the worker take on a busy machine, and the test waits it out once (all four wait together).
    private const int WaitSeconds = 30;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_delay_a_reply_timeout_and_two_payouts_pending_when_the_worker_is_killed_fire_once_each_after_it_is_started_again()
    {
        // Flows are saved through the in-process worker's API, before the process takes its place.
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var delayFlow = await kit.FlowAsync("wait for me", $$$$"""
            {"start": "first", "nodes": {
              "first": {"type": "send_text", "text": "before the delay", "next": "pause"},
              "pause": {"type": "delay", "seconds": {{{{WaitSeconds}}}}, "next": "last"},
              "last": {"type": "send_text", "text": "after the delay"}}}
            """);
        var askFlow = await kit.FlowAsync("ask me", $$$$"""
            {"start": "ask", "nodes": {
              "ask": {"type": "send_text", "text": "Shall we call you?", "next": "wait"},
              "wait": {"type": "wait_for_reply", "timeout_seconds": {{{{WaitSeconds}}}}, "timeout_path": "late", "next": "thanks"},
              "thanks": {"type": "send_text", "text": "Thanks"},
              "late": {"type": "send_text", "text": "Too late"}}}
            """);
        var (delayed, asked) = (WhatsAppKit.NewWaId(), WhatsAppKit.NewWaId());
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // Tracking.Api of the test's own, whose clock records the clicks before the traffic campaign's end.
        var clock = new TestClock();
        await using var clocked = new ServiceHost<tracking::Program>(hosts.Servers, services: s => s.AddSingleton<TimeProvider>(clock));
        using var attribution = clocked.CreateClient();
        attribution.DefaultRequestHeaders.Add(TrackedWorkspace.AttributionKeyHeader, tracked.AttributionKey);

        // The in-process worker can't be SIGKILLed: for this test the only worker is its own OS process.
        await Hosts.StopWorkerAsync(hosts.Worker);
        try
        {
            await using var worker = await WorkerProcess.StartAsync(hosts);
            try
            {
                // The campaigns now, so that their due times count from here, as the flows' do.
                var (sales, salesInfluencer) = await CampaignAsync(tracked, new { kind = "per_conversion_fixed", amount = 5000m }, null);
                var endsAt = DateTimeOffset.UtcNow.AddSeconds(2);
                var (traffic, trafficInfluencer) = await CampaignAsync(tracked, new { kind = "per_click", amount = 500m }, endsAt);
                clock.Set(endsAt.AddMinutes(-1));

                await kit.DeliverAsync(kit.Delivery((delayed, WhatsAppKit.Text("wait for me")), (asked, WhatsAppKit.Text("ask me"))));
                Assert.Equal(HttpStatusCode.Accepted, (await tracked.PostJsonAsync("/api/tracking/conversions", new
                {
                    id = "due-later", campaign_id = sales, influencer_id = salesInfluencer, conversion_type = "purchase", value = 80000.0m, currency = "COP",
                })).StatusCode);
                Assert.Equal(HttpStatusCode.Accepted, (await attribution.PostAsJsonAsync("/api/tracking/impressions", new
                {
                    id = "click-due-later", campaign_id = traffic, influencer_id = trafficInfluencer, event_type = "click",
                }, TrackedWorkspace.Json, Cancel)).StatusCode);

                // All four scheduled, and the first texts sent (so a send cut off by the kill can't blur the counts below).
                var delayRun = await kit.RunAsync(delayFlow, delayed, "waiting", 120);
                var askRun = await kit.RunAsync(askFlow, asked, "waiting", 120);
                await hosts.Servers.SendsOfRunHandledAsync(delayRun);
                await hosts.Servers.SendsOfRunHandledAsync(askRun);
                var salesPayout = await ScheduledPayoutAsync(sales, 5000m);
                var trafficPayout = await ScheduledPayoutAsync(traffic, 500m);
                var waits = new Dictionary<string, (Guid Id, string Message, DateTime Due)>
                {
                    ["the delay"] = (delayRun, "ResumeRun", await DueAsync("SELECT wait_until FROM messaging.flow_runs WHERE id = @id AND wait_kind = 'delay'", delayRun)),
                    ["the reply timeout"] = (askRun, "ReplyTimedOut", await DueAsync("SELECT wait_until FROM messaging.flow_runs WHERE id = @id AND wait_kind = 'reply'", askRun)),
                    ["the conversion payout"] = (salesPayout, "PayoutDue", await DueAsync("SELECT due_at FROM messaging.payouts WHERE id = @id", salesPayout)),
                    ["the traffic payout"] = (trafficPayout, "PayoutDue", await DueAsync("SELECT due_at FROM messaging.payouts WHERE id = @id", trafficPayout)),
                };

                var killed = await worker.KillAsync();
                var killedAt = await hosts.Servers.ScalarAsync<DateTime>("SELECT clock_timestamp()");
                Assert.True(waits.Values.All(w => w.Due > killedAt),
                    $"every wait still ahead at the kill (else this run proves nothing; the machine took over {WaitSeconds} s to schedule them): " +
                    string.Join(", ", waits.Select(w => $"{w.Key} due {w.Value.Due:O}")) + $", killed at {killedAt:O}");
                Assert.Contains($"/{killed}/", await ExecutedByAsync(delayRun));

                // Down past every due time: nothing fired, and each wake-up waits in PostgreSQL.
                await hosts.Servers.PastAsync(waits.Values.Max(w => w.Due), "every wait due, with the worker dead");
                Assert.Equal("waiting", await StateAsync("SELECT status FROM messaging.flow_runs WHERE id = @id", delayRun));
                Assert.Equal("waiting", await StateAsync("SELECT status FROM messaging.flow_runs WHERE id = @id", askRun));
                Assert.Equal("scheduled", await StateAsync("SELECT state FROM messaging.payouts WHERE id = @id AND paid_at IS NULL", salesPayout));
                Assert.Equal("scheduled", await StateAsync("SELECT state FROM messaging.payouts WHERE id = @id AND paid_at IS NULL", trafficPayout));
                Assert.Equal(["before the delay"], kit.SentTo(delayed).Select(r => r.Text));
                Assert.Equal(["Shall we call you?"], kit.SentTo(asked).Select(r => r.Text));
                foreach (var (what, (id, message, _)) in waits)
                {
                    var envelopes = await EnvelopesAsync(message, id);
                    Assert.True(envelopes.SequenceEqual(["Scheduled"]), $"{what}: one {message}, Scheduled in the worker's inbox table; found [{string.Join(", ", envelopes)}]");
                }

                var startedAt = await hosts.Servers.ScalarAsync<DateTime>("SELECT clock_timestamp()");
                await worker.StartAgainAsync(killed);
                var restarted = await worker.ProcessIdAsync();

                // Each fired once, after the start, on the new process.
                await kit.RunAsync(delayFlow, delayed, "completed", 120);
                await kit.RunAsync(askFlow, asked, "completed", 120);
                foreach (var (what, (id, message, _)) in waits)
                {
                    await hosts.Servers.HandledAsync("messaging", message, id, within: TimeSpan.FromSeconds(120));
                    var envelopes = await EnvelopesAsync(message, id);
                    Assert.True(envelopes.SequenceEqual(["Handled"]), $"{what}: one {message}, handled once; found [{string.Join(", ", envelopes)}]");
                }
                await hosts.Servers.SendsOfRunHandledAsync(delayRun);
                await hosts.Servers.SendsOfRunHandledAsync(askRun);
                Assert.Equal(["before the delay", "after the delay"], kit.SentTo(delayed).Select(r => r.Text));
                Assert.Equal(["Shall we call you?", "Too late"], kit.SentTo(asked).Select(r => r.Text));
                await AssertHistoryAsync(delayRun, startedAt, restarted, ("first", "send_text"), ("pause", "delay"), ("last", "send_text"));
                await AssertHistoryAsync(askRun, startedAt, restarted, ("ask", "send_text"), ("wait", "wait_for_reply"), ("late", "send_text"));
                foreach (var payout in new[] { salesPayout, trafficPayout })
                {
                    Assert.True(await hosts.Servers.ScalarAsync<bool>(
                        "SELECT state = 'paid' AND paid_at > @startedAt AND paid_at >= due_at FROM messaging.payouts WHERE id = @payout", new { payout, startedAt }),
                        $"payout {payout} paid after the start ({startedAt:O})");
                }
                Assert.Equal(2, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.payouts WHERE workspace_id = @Id", new { tracked.Id }));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"{e.Message}\nworker log:\n{worker.Log}");
            }
        }
        finally
        {
            await hosts.RestartWorkerAsync();
        }
    }

    /// <summary>The run's steps in order; the ones after the wait executed after the start, by the restarted process.</summary>
    private async Task AssertHistoryAsync(Guid run, DateTime startedAt, int restarted, params (string Node, string Type)[] expected)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        var steps = (await connection.QueryAsync<(string NodeId, string NodeType, bool AfterStart)>(
            "SELECT node_id, node_type, executed_at > @startedAt FROM messaging.flow_run_steps WHERE run_id = @run ORDER BY step", new { run, startedAt })).ToList();
        Assert.Equal(expected, steps.Select(s => (s.NodeId, s.NodeType)));
        Assert.Equal([false, false, true], steps.Select(s => s.AfterStart));
        Assert.Contains($"/{restarted}/", await ExecutedByAsync(run));
    }

    private async Task<(Guid Campaign, Guid Influencer)> CampaignAsync(TrackedWorkspace tracked, object rule, DateTimeOffset? endsAt)
    {
        var created = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns", new
        {
            name = "Crash", product = "Course", brand = "Acme", budget = new { amount = 1_000_000m, currency = "COP" }, status = "active",
            refund_window_seconds = WaitSeconds, ends_at = endsAt,
        }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var campaign = (await TrackedWorkspace.BodyAsync(created)).GetProperty("id").GetGuid();
        var influencer = await tracked.Admin.PostAsJsonAsync("/api/tracking/influencers", new { name = "Influencer", handle = "@crash" }, Cancel);
        Assert.Equal(HttpStatusCode.Created, (await tracked.Admin.PostAsJsonAsync($"/api/tracking/campaigns/{campaign}/rules", rule, TrackedWorkspace.Json, Cancel)).StatusCode);
        return (campaign, (await TrackedWorkspace.BodyAsync(influencer)).GetProperty("id").GetGuid());
    }

    /// <summary>The campaign's one payout, once scheduled for its amount.</summary>
    private async Task<Guid> ScheduledPayoutAsync(Guid campaign, decimal amount) =>
        (await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>("""
            SELECT p.id FROM messaging.payouts p
            LEFT JOIN messaging.commissions c ON c.id = p.commission_id
            LEFT JOIN messaging.traffic_commissions t ON t.id = p.commission_id
            WHERE coalesce(c.campaign_id, t.campaign_id) = @campaign AND p.state = 'scheduled' AND p.amount = @amount
            """, new { campaign, amount }), TimeSpan.FromSeconds(120), $"a payout of {amount} scheduled for campaign {campaign}"))!.Value;

    private async Task<DateTime> DueAsync(string sql, Guid id) =>
        (await hosts.Servers.ScalarAsync<DateTime?>(sql, new { id })) ?? throw new Xunit.Sdk.XunitException($"no due time for {id}");

    private Task<string?> StateAsync(string sql, Guid id) => hosts.Servers.ScalarAsync<string>(sql, new { id });

    private async Task<string> ExecutedByAsync(Guid run) =>
        await hosts.Servers.ScalarAsync<string>("SELECT executed_by FROM messaging.flow_runs WHERE id = @run", new { run }) ?? "";

    /// <summary>The statuses of the worker's envelopes of a message type mentioning an id (Inbox's table and match).</summary>
    private async Task<IReadOnlyList<string>> EnvelopesAsync(string messageType, Guid id)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        return (await connection.QueryAsync<string>("""
            SELECT status FROM messaging_wolverine.wolverine_incoming_envelopes e
            WHERE (message_type = @messageType OR message_type LIKE '%.' || @messageType) AND position(convert_to(@id, 'UTF8') IN e.body) > 0
            ORDER BY status
            """, new { messageType, id = id.ToString() })).ToList();
    }
}
