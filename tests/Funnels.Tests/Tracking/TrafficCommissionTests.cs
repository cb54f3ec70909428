extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Tracking;

/// <summary>per_click and per_mille_impressions rules: Messaging.Worker accrues clicks and impressions into a commission, once per id, within the budget.</summary>
[Collection(ServicesCollection.Name)]
public sealed class TrafficCommissionTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Clicks_pay_their_amount_once_per_click_id()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, rule: new { kind = "per_click", amount = 500m });

        // Three clicks, the first sent three times; an impression is not paid by a per_click rule.
        var before = DateTime.UtcNow;
        var posts = new[] { "click-1", "click-1", "click-2", "click-3", "click-1" }
            .Select(id => tracked.PostJsonAsync("/api/tracking/impressions", new { id, campaign_id = campaign, influencer_id = influencers[0], event_type = "click" }))
            .Append(tracked.PostJsonAsync("/api/tracking/impressions", new { id = "seen-1", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression" }));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var after = DateTime.UtcNow;

        await CommissionOwedAsync(tracked, campaign, 1500m);
        Assert.Equal(1500m, await AccruedAsync(campaign, "per_click"));
        Assert.Equal(3L, await hosts.Servers.ScalarAsync<long>(
            "SELECT events FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = 'per_click'", new { campaign }));
        Assert.Equal(0L, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = 'per_mille_impressions'", new { campaign }));
        Assert.Equal(1500m, await hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));

        // No end date: the month's traffic is paid at the end of the month plus the refund window (30 days here).
        var listed = Assert.Single(await TrafficCommissionsAsync(tracked, campaign, c => c.GetProperty("events").GetInt64() == 3));
        // The month the clicks were recorded in (the later one, should a month have ended while they were posted).
        static DateTime MonthEnd(DateTime t) => new DateTime(t.Year, t.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        var monthEnd = listed.GetProperty("period_ends_at").GetDateTime().ToUniversalTime();
        Assert.Contains(monthEnd, new[] { MonthEnd(before), MonthEnd(after) });
        Assert.Equal(1500m, listed.GetProperty("amount").GetProperty("amount").GetDecimal());
        Assert.Equal("per_click", listed.GetProperty("rule_kind").GetString());
        var payout = listed.GetProperty("payout");
        Assert.Equal("scheduled", payout.GetProperty("state").GetString());
        Assert.Equal(monthEnd.AddDays(30), payout.GetProperty("due_at").GetDateTime().ToUniversalTime());
        Assert.Equal(1500m, payout.GetProperty("amount").GetProperty("amount").GetDecimal());
    }

    [Fact]
    public async Task Traffic_of_a_campaign_with_an_end_is_paid_once_after_its_refund_window_even_across_a_worker_restart()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // The payout is due at the end plus the refund window: long enough that it is still scheduled when the worker stops.
        var endsAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, refundWindowSeconds: 20,
            rule: new { kind = "per_click", amount = 500.5m }, endsAt: endsAt);
        // Tracking.Api records the clicks a minute before the end, however long the machine takes to post them.
        var (clock, tracking, attribution) = ClockedTracking(tracked);
        await using var _ = tracking;
        using var __ = attribution;
        clock.Set(endsAt.AddMinutes(-1));
        var clicks = Enumerable.Range(0, 3).Select(i => attribution.PostAsJsonAsync("/api/tracking/impressions", new
        {
            id = $"ending-{i}", campaign_id = campaign, influencer_id = influencers[0], event_type = "click",
        }, TrackedWorkspace.Json, Cancel));
        Assert.All(await Task.WhenAll(clicks), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        var scheduled = Assert.Single(await TrafficCommissionsAsync(tracked, campaign, c => c.GetProperty("events").GetInt64() == 3));
        var payout = scheduled.GetProperty("payout").GetProperty("id").GetGuid();
        Assert.Equal("scheduled", scheduled.GetProperty("payout").GetProperty("state").GetString());
        // The period ends at the end the test gave the campaign (PostgreSQL keeps microseconds), not at a value read back from the store.
        var storedEnd = endsAt.UtcDateTime.AddTicks(-(endsAt.UtcDateTime.Ticks % 10));
        Assert.Equal(storedEnd, scheduled.GetProperty("period_ends_at").GetDateTime().ToUniversalTime());
        var dueAt = scheduled.GetProperty("payout").GetProperty("due_at").GetDateTime().ToUniversalTime();
        Assert.Equal(storedEnd.AddSeconds(20), dueAt);

        // Down past the due time: the scheduled PayoutDue waits in PostgreSQL, not in the process.
        var startedAt = await hosts.RestartWorkerAsync(async () =>
        {
            // Still unpaid when the worker stopped (else the restart proves nothing), and while it is down past the due time.
            Assert.Equal("scheduled", await PayoutStateAsync(payout));
            await hosts.Servers.PastAsync(dueAt, "the traffic payout's due time, with no worker running");
            Assert.Equal("scheduled", await PayoutStateAsync(payout));
        });

        var paid = Assert.Single(await TrafficCommissionsAsync(tracked, campaign, c => c.GetProperty("payout").GetProperty("state").GetString() == "paid",
            TimeSpan.FromSeconds(60)));
        Assert.Equal(payout, paid.GetProperty("payout").GetProperty("id").GetGuid());
        Assert.Equal(1501.5m, paid.GetProperty("payout").GetProperty("amount").GetProperty("amount").GetDecimal());
        Assert.True(paid.GetProperty("payout").GetProperty("paid_at").GetDateTime() >= paid.GetProperty("payout").GetProperty("due_at").GetDateTime());
        // Paid by the fresh worker.
        Assert.True(await hosts.Servers.ScalarAsync<bool>("SELECT paid_at > @startedAt FROM messaging.payouts WHERE id = @payout", new { payout, startedAt }));
        // The commission follows its payout (PayoutDue is idempotent by the payout's state, not by a claimed message id).
        Assert.Equal("paid", paid.GetProperty("state").GetString());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.payouts WHERE workspace_id = @Id AND kind = 'traffic'", new { tracked.Id }));
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var payouts = await worker.GetFromJsonAsync<JsonElement>("/api/messaging/payouts?state=paid", Cancel);
        Assert.Equal(1501.5m, Assert.Single(payouts.GetProperty("items").EnumerateArray()).GetProperty("amount").GetProperty("amount").GetDecimal());

        // A click recorded after the end is recorded but pays nothing, and opens no payout.
        clock.Set(endsAt.AddMinutes(1));
        var late = await attribution.PostAsJsonAsync("/api/tracking/impressions", new { id = "after-end", campaign_id = campaign, influencer_id = influencers[0], event_type = "click" },
            TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT message_key FROM messaging.processed_messages WHERE consumer = 'traffic-commission' AND message_key = @key",
            new { key = $"{tracked.Id}:after-end" }), TimeSpan.FromSeconds(30), "the late click to reach the worker");
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.payouts WHERE workspace_id = @Id AND kind = 'traffic'", new { tracked.Id }));
        Assert.Equal(3L, await hosts.Servers.ScalarAsync<long>("SELECT sum(events) FROM messaging.traffic_commissions WHERE campaign_id = @campaign", new { campaign }));
    }

    [Fact]
    public async Task A_payout_pays_the_exact_accrual_rounded_down_and_shows_the_rest_as_residue()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var endsAt = DateTimeOffset.UtcNow.AddSeconds(1);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, currency: "USD", refundWindowSeconds: 0,
            rule: new { kind = "per_mille_impressions", amount = 2.5m }, endsAt: endsAt);
        // Recorded before the end by Tracking.Api's clock; the payout falls due as soon as the end has passed.
        var (clock, tracking, attribution) = ClockedTracking(tracked);
        await using var _ = tracking;
        using var __ = attribution;
        clock.Set(endsAt.AddMinutes(-1));
        var posts = Enumerable.Range(0, 7).Select(i => attribution.PostAsJsonAsync("/api/tracking/impressions", new
        {
            id = $"fraction-{i}", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression",
        }, TrackedWorkspace.Json, Cancel));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        // Waits by state, in steps, each with a generous bound: the seven accrued, then the payout paid.
        await TrafficCommissionsAsync(tracked, campaign, c => c.GetProperty("events").GetInt64() == 7, TimeSpan.FromSeconds(120));
        // 7 × 2.5/1000 = 0.0175 USD accrued exactly; the budget reserved 0.01, which is paid; 0.0075 is residue (the campaign has no next period).
        var paid = Assert.Single(await TrafficCommissionsAsync(tracked, campaign, c => c.GetProperty("payout").GetProperty("state").GetString() == "paid",
            TimeSpan.FromSeconds(120)));
        Assert.Equal("paid", paid.GetProperty("state").GetString());
        Assert.Equal(0.01m, paid.GetProperty("amount").GetProperty("amount").GetDecimal());
        Assert.Equal(0.0175m, paid.GetProperty("accrued").GetProperty("amount").GetDecimal());
        Assert.Equal(0.0075m, paid.GetProperty("residue").GetProperty("amount").GetDecimal());
        Assert.Equal(0.01m, paid.GetProperty("payout").GetProperty("amount").GetProperty("amount").GetDecimal());
        Assert.Equal(0.01m, await hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));
        await CommissionOwedAsync(tracked, campaign, 0.01m);
    }

    [Fact]
    public async Task Impressions_pay_per_thousand_exactly()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, rule: new { kind = "per_mille_impressions", amount = 2000m });

        foreach (var batch in Enumerable.Range(0, 250).Chunk(50))
        {
            var posts = batch.Select(i => tracked.PostJsonAsync("/api/tracking/impressions", new
            {
                id = $"imp-{i}", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression",
            }));
            Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        }
        // A repeated impression id pays nothing more.
        await tracked.PostJsonAsync("/api/tracking/impressions", new { id = "imp-7", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression" });

        // 250 impressions at 2000 a thousand is exactly 500 (a quarter thousand: no rounding). Each event
        // crosses two services and takes the budget row lock: a bound for a busy machine, not a speed check.
        await CommissionOwedAsync(tracked, campaign, 500m, TimeSpan.FromSeconds(120));
        Assert.Equal(500m, await AccruedAsync(campaign, "per_mille_impressions"));
        Assert.Equal(250L, await hosts.Servers.ScalarAsync<long>(
            "SELECT events FROM messaging.traffic_commissions WHERE campaign_id = @campaign", new { campaign }));
    }

    [Fact]
    public async Task Clicks_never_exceed_the_remaining_budget()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1200m, rule: new { kind = "per_click", amount = 500m });

        var posts = Enumerable.Range(0, 4).Select(i => tracked.PostJsonAsync("/api/tracking/impressions", new
        {
            id = $"capped-{i}", campaign_id = campaign, influencer_id = influencers[0], event_type = "click",
        }));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        await Eventually.Until(async () => await hosts.Servers.ScalarAsync<long>(
            "SELECT events FROM messaging.traffic_commissions WHERE campaign_id = @campaign", new { campaign }) == 4 ? "done" : null,
            TimeSpan.FromSeconds(30), "four clicks accrued");
        Assert.Equal(1200m, await AccruedAsync(campaign, "per_click"));
        Assert.Equal(2000m, await hosts.Servers.ScalarAsync<decimal>(
            "SELECT computed_amount FROM messaging.traffic_commissions WHERE campaign_id = @campaign", new { campaign }));
        Assert.True(await hosts.Servers.ScalarAsync<bool>(
            "SELECT capped_by_budget FROM messaging.traffic_commissions WHERE campaign_id = @campaign", new { campaign }));
        Assert.Equal(1200m, await hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));
        await CommissionOwedAsync(tracked, campaign, 1200m);
    }

    private Task<string?> PayoutStateAsync(Guid payout) =>
        hosts.Servers.ScalarAsync<string>("SELECT state FROM messaging.payouts WHERE id = @payout AND paid_at IS NULL", new { payout });

    /// <summary>A Tracking.Api of the test's own whose clock the test sets, and an attribution client of the workspace on it.</summary>
    private (TestClock Clock, ServiceHost<tracking::Program> Host, HttpClient Attribution) ClockedTracking(TrackedWorkspace tracked)
    {
        var clock = new TestClock();
        var host = new ServiceHost<tracking::Program>(hosts.Servers, services: s => s.AddSingleton<TimeProvider>(clock));
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Add(TrackedWorkspace.AttributionKeyHeader, tracked.AttributionKey);
        return (clock, host, client);
    }

    private async Task<List<JsonElement>> TrafficCommissionsAsync(TrackedWorkspace tracked, Guid campaign, Func<JsonElement, bool> ready, TimeSpan? timeout = null)
    {
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        return await Eventually.Until(async () =>
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={campaign}&kind=traffic", Cancel);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            return items.Count > 0 && items.All(c => c.GetProperty("kind").GetString() == "traffic") && items.All(ready) ? items : null;
        }, timeout ?? TimeSpan.FromSeconds(30), "the traffic commissions");
    }

    private Task<decimal> AccruedAsync(Guid campaign, string kind) => hosts.Servers.ScalarAsync<decimal>(
        "SELECT accrued_amount FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = @kind", new { campaign, kind });

    private Task CommissionOwedAsync(TrackedWorkspace tracked, Guid campaign, decimal expected, TimeSpan? timeout = null) =>
        Eventually.Until(async () =>
        {
            var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            return stats.GetProperty("totals").GetProperty("commission_owed").GetProperty("amount").GetDecimal() == expected ? "done" : null;
        }, timeout ?? TimeSpan.FromSeconds(30), $"commission owed of {expected} in the statistics");
}
