using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Messaging.Worker's commissions for Tracking.Api's conversions: capped by budget, cancelled or reversed by refunds, paid after the refund window.</summary>
[Collection(ServicesCollection.Name)]
public sealed class CommissionTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Commissions_never_exceed_the_campaigns_budget_even_when_conversions_race()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 100_000m, rule: new { kind = "per_conversion_percent", percent = 10m });

        var posts = Enumerable.Range(0, 3).Select(i => tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = $"budget-{i}", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 600000.0m, currency = "COP",
        }));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        var commissions = await CommissionsAsync(tracked, campaign, 3);
        Assert.Equal([0m, 40000m, 60000m], commissions.Select(c => c.GetProperty("amount").GetProperty("amount").GetDecimal()).Order());
        Assert.All(commissions, c => Assert.Equal(60000m, c.GetProperty("computed").GetProperty("amount").GetDecimal()));
        Assert.Equal(2, commissions.Count(c => c.GetProperty("capped_by_budget").GetBoolean()));
        Assert.Equal(100_000m, await hosts.Servers.ScalarAsync<decimal>(
            "SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));
        Assert.Equal(2, commissions.Count(c => c.GetProperty("payout").GetProperty("state").GetString() == "scheduled"));

        // The read model in Tracking.Api hears of them too.
        await Eventually.Until(async () =>
        {
            var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            return stats.GetProperty("totals").GetProperty("commission_owed").GetProperty("amount").GetDecimal() == 100_000m ? "done" : null;
        }, TimeSpan.FromSeconds(30), "commission owed in the statistics");
    }

    [Fact]
    public async Task A_refund_before_payment_cancels_the_commission_and_releases_its_budget()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, rule: new { kind = "per_conversion_fixed", amount = 25000m });
        await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "refunded", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 150000.0m, currency = "COP",
        });
        await CommissionsAsync(tracked, campaign, 1);

        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PostAsync("/api/tracking/conversions/refunded/refund", null, Cancel)).StatusCode);

        // Not paid yet: cancelled (reversed is for a claw-back after payment).
        var cancelled = await Eventually.Until(async () =>
        {
            var c = (await CommissionsAsync(tracked, campaign, 1))[0];
            return c.GetProperty("state").GetString() == "cancelled" ? (JsonElement?)c : null;
        }, TimeSpan.FromSeconds(30), "the commission to be cancelled");
        Assert.Equal("cancelled", cancelled!.Value.GetProperty("payout").GetProperty("state").GetString());
        Assert.Equal(0m, await hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));
    }

    [Fact]
    public async Task A_payout_scheduled_for_the_end_of_the_refund_window_is_paid_after_a_worker_restart()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // The window outlasts scheduling the payout and a graceful stop of the worker on a busy machine.
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, refundWindowSeconds: 20,
            rule: new { kind = "per_conversion_fixed", amount = 5000m });
        await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "paid-later", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 80000.0m, currency = "COP",
        });
        // Scheduled, and not yet due (the refund window is far longer than scheduling takes on a busy machine).
        var payout = (await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT id FROM messaging.payouts WHERE workspace_id = @Id AND state = 'scheduled' AND due_at > now()", new { tracked.Id }),
            TimeSpan.FromSeconds(30), "the payout to be scheduled"))!.Value;
        var dueAt = await hosts.Servers.ScalarAsync<DateTime>("SELECT due_at FROM messaging.payouts WHERE id = @payout", new { payout });

        // Down past the due time: the scheduled message waits in PostgreSQL, not in the process.
        var startedAt = await hosts.RestartWorkerAsync(async () =>
        {
            // Still unpaid when the worker stopped (else the restart proves nothing), and while it is down past the due time.
            Assert.Equal("scheduled", await PayoutStateAsync(payout));
            await hosts.Servers.PastAsync(dueAt, "the payout's due time, with no worker running");
            Assert.Equal("scheduled", await PayoutStateAsync(payout));
        });

        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT state FROM messaging.payouts WHERE id = @payout AND state = 'paid'", new { payout }), TimeSpan.FromSeconds(45), "the payout to be paid");
        // Paid by the fresh worker.
        Assert.True(await hosts.Servers.ScalarAsync<bool>("SELECT paid_at >= due_at AND paid_at > @startedAt FROM messaging.payouts WHERE id = @payout", new { payout, startedAt }));
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var paid = await worker.GetFromJsonAsync<JsonElement>("/api/messaging/payouts?state=paid", Cancel);
        Assert.Equal(5000m, Assert.Single(paid.GetProperty("items").EnumerateArray()).GetProperty("amount").GetProperty("amount").GetDecimal());
    }

    private Task<string?> PayoutStateAsync(Guid payout) =>
        hosts.Servers.ScalarAsync<string>("SELECT state FROM messaging.payouts WHERE id = @payout AND paid_at IS NULL", new { payout });

    [Fact]
    public async Task A_campaign_reads_ended_after_its_end_and_a_conversion_recorded_then_is_counted_but_earns_no_commission()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // Long enough for the first conversion to land before the end on a busy machine.
        var endsAt = DateTimeOffset.UtcNow.AddSeconds(15);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, endsAt: endsAt,
            rule: new { kind = "per_conversion_fixed", amount = 5000m });
        Assert.Equal("active", (await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}", Cancel)).GetProperty("status").GetString());
        await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "before-end", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 80000.0m, currency = "COP",
        });
        await CommissionsAsync(tracked, campaign, 1);

        await Eventually.Until(async () => (await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}", Cancel))
            .GetProperty("status").GetString() == "ended" ? "ended" : null, TimeSpan.FromSeconds(60), "the campaign to read ended");
        var after = await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "after-end", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 70000.0m, currency = "COP",
        });
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);

        // Stored and counted in the statistics and the revenue ...
        var stats = (await Eventually.Until(async () =>
        {
            var totals = (await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel)).GetProperty("totals");
            return totals.GetProperty("conversions").GetInt64() == 2 ? (JsonElement?)totals : null;
        }, TimeSpan.FromSeconds(30), "both conversions in the statistics"))!.Value;
        Assert.Equal(150000m, stats.GetProperty("revenue").GetProperty("amount").GetDecimal());
        Assert.Equal(5000m, stats.GetProperty("commission_owed").GetProperty("amount").GetDecimal());
        // ... but no commission.
        var commission = Assert.Single(await CommissionsAsync(tracked, campaign, 1));
        Assert.Equal("before-end", commission.GetProperty("conversion_id").GetString());
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.commissions WHERE workspace_id = @Id AND conversion_id = 'after-end'", new { tracked.Id }));
    }

    [Fact]
    public async Task The_campaign_budget_shows_what_is_committed_paid_and_remaining()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 10_000m, refundWindowSeconds: 0,
            rule: new { kind = "per_conversion_fixed", amount = 4000m });
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var before = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/campaigns/{campaign}/budget", Cancel);
        Assert.Equal(JsonValueKind.Null, before.GetProperty("committed").ValueKind);

        foreach (var id in new[] { "b-1", "b-2", "b-3" })
        {
            await tracked.PostJsonAsync("/api/tracking/conversions", new
            {
                id, campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 50000m, currency = "COP",
            });
        }
        await CommissionsAsync(tracked, campaign, 3);
        // 4000 + 4000 + the last 2000 of the budget, all due at once (no refund window) and paid.
        var budget = (await Eventually.Until(async () =>
        {
            var b = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/campaigns/{campaign}/budget", Cancel);
            return b.GetProperty("paid").ValueKind == JsonValueKind.Object && b.GetProperty("paid").GetProperty("amount").GetDecimal() == 10_000m
                ? (JsonElement?)b : null;
        }, TimeSpan.FromSeconds(60), "the three payouts to be paid"))!.Value;
        Assert.Equal(10_000m, budget.GetProperty("budget").GetProperty("amount").GetDecimal());
        Assert.Equal(10_000m, budget.GetProperty("committed").GetProperty("amount").GetDecimal());
        Assert.Equal(0m, budget.GetProperty("remaining").GetProperty("amount").GetDecimal());
        Assert.Equal(HttpStatusCode.NotFound, (await worker.GetAsync("/api/messaging/campaigns/cmp-nobody-has/budget", Cancel)).StatusCode);
        // Each payout names its commission's campaign and influencer.
        var payouts = (await worker.GetFromJsonAsync<JsonElement>("/api/messaging/payouts?state=paid", Cancel)).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(3, payouts.Count);
        Assert.All(payouts, p => Assert.Equal(campaign, p.GetProperty("campaign_id").GetGuid()));
        Assert.All(payouts, p => Assert.Equal(influencers[0], p.GetProperty("influencer_id").GetGuid()));
    }

    [Fact]
    public async Task A_refund_after_payment_reverses_the_commission_and_the_budget_and_statistics_follow()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // No refund window: the payout falls due at once and is paid.
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 10_000m, refundWindowSeconds: 0,
            rule: new { kind = "per_conversion_fixed", amount = 4000m });
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "paid-then-refunded", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 50000m, currency = "COP",
        });
        await Eventually.Until(async () => (await CommissionsAsync(tracked, campaign, 1))[0].GetProperty("state").GetString() == "paid" ? "paid" : null,
            TimeSpan.FromSeconds(60), "the commission to be paid");
        await StatsWhenAsync(tracked, campaign, t => t.GetProperty("commission_owed").GetProperty("amount").GetDecimal() == 4000m, "4000 owed before the refund");

        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PostAsync("/api/tracking/conversions/paid-then-refunded/refund", null, Cancel)).StatusCode);

        // Paid already: reversed (a claw-back), not cancelled; its payout says so too.
        var reversed = (await Eventually.Until(async () =>
        {
            var c = (await CommissionsAsync(tracked, campaign, 1))[0];
            return c.GetProperty("state").GetString() == "reversed" ? (JsonElement?)c : null;
        }, TimeSpan.FromSeconds(60), "the commission to be reversed"))!.Value;
        Assert.Equal("reversed", reversed.GetProperty("payout").GetProperty("state").GetString());
        // The budget it took is released: nothing committed, the whole budget remaining.
        var budget = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/campaigns/{campaign}/budget", Cancel);
        Assert.Equal(0m, budget.GetProperty("committed").GetProperty("amount").GetDecimal());
        Assert.Equal(10_000m, budget.GetProperty("remaining").GetProperty("amount").GetDecimal());
        // The statistics count the refund and no longer count the commission as owed (CommissionReversed with WasPaid).
        var totals = await StatsWhenAsync(tracked, campaign, t => t.GetProperty("refunds").GetInt64() == 1
            && t.GetProperty("commission_owed").GetProperty("amount").GetDecimal() == 0m, "the refund and no commission owed");
        Assert.Equal(1, totals.GetProperty("conversions").GetInt64());
    }

    private async Task<JsonElement> StatsWhenAsync(TrackedWorkspace tracked, Guid campaign, Func<JsonElement, bool> done, string what) =>
        (await Eventually.Until(async () =>
        {
            var totals = (await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel)).GetProperty("totals");
            return done(totals) ? (JsonElement?)totals : null;
        }, TimeSpan.FromSeconds(60), () => $"{what} in the statistics"))!.Value;

    private async Task<List<JsonElement>> CommissionsAsync(TrackedWorkspace tracked, Guid campaign, int count)
    {
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        return await Eventually.Until(async () =>
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={campaign}", Cancel);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            return items.Count == count ? items : null;
        }, TimeSpan.FromSeconds(30), $"{count} commission(s)");
    }
}
