using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

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
        var posts = new[] { "click-1", "click-1", "click-2", "click-3", "click-1" }
            .Select(id => tracked.PostJsonAsync("/api/tracking/impressions", new { id, campaign_id = campaign, influencer_id = influencers[0], event_type = "click" }))
            .Append(tracked.PostJsonAsync("/api/tracking/impressions", new { id = "seen-1", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression" }));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        await CommissionOwedAsync(tracked, campaign, 1500m);
        Assert.Equal(1500m, await AccruedAsync(campaign, "per_click"));
        Assert.Equal(3L, await hosts.Servers.ScalarAsync<long>(
            "SELECT events FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = 'per_click'", new { campaign }));
        Assert.Equal(0L, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = 'per_mille_impressions'", new { campaign }));
        Assert.Equal(1500m, await hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign }));
    }

    [Fact]
    public async Task Impressions_pay_per_thousand_exactly()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, rule: new { kind = "per_mille_impressions", amount = 2000m });

        foreach (var batch in Enumerable.Range(0, 2500).Chunk(50))
        {
            var posts = batch.Select(i => tracked.PostJsonAsync("/api/tracking/impressions", new
            {
                id = $"imp-{i}", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression",
            }));
            Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        }
        // A repeated impression id pays nothing more.
        await tracked.PostJsonAsync("/api/tracking/impressions", new { id = "imp-7", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression" });

        await CommissionOwedAsync(tracked, campaign, 5000m, TimeSpan.FromSeconds(90));
        Assert.Equal(5000m, await AccruedAsync(campaign, "per_mille_impressions"));
        Assert.Equal(2500L, await hosts.Servers.ScalarAsync<long>(
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

    private Task<decimal> AccruedAsync(Guid campaign, string kind) => hosts.Servers.ScalarAsync<decimal>(
        "SELECT accrued_amount FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = @kind", new { campaign, kind });

    private Task CommissionOwedAsync(TrackedWorkspace tracked, Guid campaign, decimal expected, TimeSpan? timeout = null) =>
        Eventually.Until(async () =>
        {
            var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            return stats.GetProperty("totals").GetProperty("commission_owed").GetProperty("amount").GetDecimal() == expected ? "done" : null;
        }, timeout ?? TimeSpan.FromSeconds(30), $"commission owed of {expected} in the statistics");
}
