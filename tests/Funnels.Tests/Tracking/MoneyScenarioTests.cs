using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using static Funnels.Tests.Tracking.MoneyKit;

namespace Funnels.Tests.Tracking;

/// <summary>
/// Issue #17's "done when": one campaign run end to end as a marketing team runs it, every figure
/// of the statistics, commissions, payouts and budget checked against a hand calculation to the
/// minor unit, and paid + owed never above the budget.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class MoneyScenarioTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_campaign_with_mixed_rules_refunds_an_end_and_a_worker_restart_adds_up_to_the_minor_unit()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = new MoneyKit(hosts, tracked);
        // 1,000,000 COP, a refund window of a day, ending in an hour. Ana earns the campaign's 7.5 %, 361.50 a click and
        // the campaign's 14.68 per mille; Ben his own 25,000 per sale and the per mille.
        var endsAt = DateTimeOffset.UtcNow.AddHours(1);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, refundWindowSeconds: 86_400, influencers: 2,
            rule: new { kind = "per_conversion_percent", percent = 7.5m }, endsAt: endsAt);
        var (ana, ben) = (influencers[0], influencers[1]);
        await kit.RuleAsync(campaign, new { kind = "per_conversion_fixed", amount = 25_000m, influencer_id = ben });
        await kit.RuleAsync(campaign, new { kind = "per_click", amount = 361.5m, influencer_id = ana });
        await kit.RuleAsync(campaign, new { kind = "per_mille_impressions", amount = 14.68m });
        var (clock, tracking, attribution) = kit.ClockedTracking();
        await using var _ = tracking;
        using var __ = attribution;
        var sold = DateTimeOffset.UtcNow.AddDays(-2); // a sale whose refund window has passed: its payout is due at once

        // Traffic, with repeated ids: Ana 3 clicks (1,084.50) and 5 impressions (0.0734: 0.07 owed), Ben 3 impressions (0.04404: 0.04).
        await kit.TrafficAsync(attribution, campaign, ana, "click", "clk", 3);
        await kit.TrafficAsync(attribution, campaign, ana, "impression", "imp-ana", 5);
        await kit.TrafficAsync(attribution, campaign, ben, "impression", "imp-ben", 3);
        await kit.TrafficAsync(attribution, campaign, ana, "click", "clk", 1); // clk-0 again
        await kit.TrafficAsync(attribution, campaign, ben, "impression", "imp-ben", 2); // imp-ben-0 and -1 again
        var traffic = await kit.CommissionsAsync(campaign, "traffic", items => items.Sum(t => t.GetProperty("events").GetInt64()) == 11);

        // A (Ana, 7.5 % of 19,845.67 = 1,488.42525: 1,488.43) and B (Ben, 25,000) sold two days ago: paid at once.
        await kit.ConversionAsync(campaign, ana, "A", 19_845.67m, attribution, sold);
        await kit.ConversionAsync(campaign, ben, "B", 150_000m, attribution, sold);
        await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 2 && items.All(c => c.GetProperty("state").GetString() == "paid"));
        // A repeat is recorded once; the same id for another sale, and another currency, are refused and write nothing.
        await kit.ConversionAsync(campaign, ana, "A", 19_845.67m, attribution, sold);
        Assert.Equal(HttpStatusCode.Conflict, (await kit.PostAsync("/api/tracking/conversions", new
        {
            id = "A", campaign_id = campaign, influencer_id = ana, conversion_type = "purchase", value = 20_000m, currency = "COP", timestamp = sold,
        }, attribution)).StatusCode);
        var usd = await kit.PostAsync("/api/tracking/conversions", new
        {
            id = "E", campaign_id = campaign, influencer_id = ana, conversion_type = "purchase", value = 100m, currency = "USD",
        }, attribution);
        Assert.Equal(HttpStatusCode.BadRequest, usd.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(usd)).GetProperty("errors").TryGetProperty("currency", out var _), "the 400 names currency");

        // C (Ana, 6,000.00) and D (Ben, 25,000) arrive while the worker is down: they wait in the broker.
        await hosts.RestartWorkerAsync(whileDown: async () =>
        {
            await kit.ConversionAsync(campaign, ana, "C", 80_000m, attribution);
            await kit.ConversionAsync(campaign, ben, "D", 50_000m, attribution);
        });
        await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 4);

        // F (Ana, 7.5 % of 12,600,000 = 945,000) finds 1,000,000 - 58,573.04 = 941,426.96 left: capped. G (Ben) finds nothing: nothing_due.
        await kit.ConversionAsync(campaign, ana, "F", 12_600_000m, attribution);
        await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 5);
        await kit.ConversionAsync(campaign, ben, "G", 50_000m, attribution);
        var exhausted = await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 6);
        Assert.Equal(941_426.96m, Amount(Of(exhausted, "F"), "amount"));
        Assert.True(Of(exhausted, "F").GetProperty("capped_by_budget").GetBoolean());
        Assert.Equal("nothing_due", Of(exhausted, "G").GetProperty("state").GetString());
        Assert.Equal(1_000_000m, await kit.CommittedAsync(campaign));

        // D refunded before payment: cancelled; its 25,000 goes, in recorded order, to F (3,573.04 to its full 945,000) then G (21,426.96).
        await RefundAsync(attribution, "D");
        await kit.CommissionsAsync(campaign, "conversion", items => Amount(Of(items, "G"), "amount") == 21_426.96m);
        // A refunded after payment: reversed (a claw-back); its 1,488.43 goes to G, still capped: 22,915.39.
        await RefundAsync(attribution, "A");
        await kit.CommissionsAsync(campaign, "conversion", items => Amount(Of(items, "G"), "amount") == 22_915.39m);

        // After the end: H is counted with its revenue, an impression too, and neither earns anything.
        clock.Set(endsAt.AddMinutes(1));
        await kit.ConversionAsync(campaign, ana, "H", 40_000m, attribution);
        await kit.TrafficAsync(attribution, campaign, ana, "impression", "imp-late", 1);

        var stats = (await Eventually.Until(async () =>
        {
            var s = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            var totals = s.GetProperty("totals");
            return totals.GetProperty("conversions").GetInt64() == 7 && totals.GetProperty("impressions").GetInt64() == 9
                && totals.GetProperty("refunds").GetInt64() == 2 && Amount(totals, "commission_owed") == 1_000_000m ? (JsonElement?)s : null;
        }, Bound, "the statistics of every event"))!.Value;

        // Conversions: every state and amount by hand.
        var conversions = await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 6);
        Expect(conversions, "A", state: "reversed", payout: "reversed", amount: 1_488.43m, computed: 1_488.43m, capped: false);
        Expect(conversions, "B", state: "paid", payout: "paid", amount: 25_000m, computed: 25_000m, capped: false);
        Expect(conversions, "C", state: "owed", payout: "scheduled", amount: 6_000m, computed: 6_000m, capped: false);
        Expect(conversions, "D", state: "cancelled", payout: "cancelled", amount: 25_000m, computed: 25_000m, capped: false);
        Expect(conversions, "F", state: "owed", payout: "scheduled", amount: 945_000m, computed: 945_000m, capped: false);
        Expect(conversions, "G", state: "owed", payout: "scheduled", amount: 22_915.39m, computed: 25_000m, capped: true);
        Assert.DoesNotContain(conversions, c => c.GetProperty("conversion_id").GetString() is "E" or "H");

        // Traffic: one row per influencer and rule kind, paid once at the campaign's end + a day; the residue shown.
        traffic = await kit.CommissionsAsync(campaign, "traffic", items => items.Count == 3);
        ExpectTraffic(traffic, ana, "per_click", events: 3, amount: 1_084.50m, accrued: 1_084.50m, residue: 0m);
        ExpectTraffic(traffic, ana, "per_mille_impressions", events: 5, amount: 0.07m, accrued: 0.0734m, residue: 0.0034m);
        ExpectTraffic(traffic, ben, "per_mille_impressions", events: 3, amount: 0.04m, accrued: 0.04404m, residue: 0.00404m);
        Assert.All(traffic, t => Assert.Equal(endsAt.AddDays(1).UtcDateTime, t.GetProperty("payout").GetProperty("due_at").GetDateTime(), TimeSpan.FromSeconds(1)));

        // Payouts: paid 25,000, owed 975,000 (1,084.61 traffic + 6,000 + 945,000 + 22,915.39): together exactly the budget.
        var paid = Payouts(conversions, traffic, "paid");
        var owed = Payouts(conversions, traffic, "scheduled");
        Assert.Equal(25_000m, paid);
        Assert.Equal(975_000m, owed);
        Assert.True(paid + owed <= 1_000_000m);
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var budget = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/campaigns/{campaign}/budget", Cancel);
        Assert.Equal(1_000_000m, Amount(budget, "budget"));
        Assert.Equal(1_000_000m, Amount(budget, "committed"));
        Assert.Equal(25_000m, Amount(budget, "paid"));
        Assert.Equal(0m, Amount(budget, "remaining"));

        // Statistics: totals and each influencer, to the minor unit.
        ExpectStats(stats.GetProperty("totals"), impressions: 9, clicks: 3, conversions: 7, refunds: 2, revenue: 12_920_000m, commission: 1_000_000m,
            perClick: 2.3333m, perImpression: 0.7778m);
        var rows = stats.GetProperty("influencers").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        // Ana: A, C, F, H (A refunded) = 12,720,000; 1,084.50 + 0.07 + 6,000 + 945,000. Ben: B, D, G (D refunded) = 200,000; 0.04 + 25,000 + 22,915.39.
        ExpectStats(rows.Single(r => r.GetProperty("influencer_id").GetGuid() == ana), impressions: 6, clicks: 3, conversions: 4, refunds: 1,
            revenue: 12_720_000m, commission: 952_084.57m, perClick: 1.3333m, perImpression: 0.6667m);
        ExpectStats(rows.Single(r => r.GetProperty("influencer_id").GetGuid() == ben), impressions: 3, clicks: 0, conversions: 3, refunds: 1,
            revenue: 200_000m, commission: 47_915.43m, perClick: null, perImpression: 1m);
        Assert.Equal(1_000_000m, rows.Sum(r => Amount(r, "commission_owed")));
    }

    private async Task RefundAsync(HttpClient attribution, string id) =>
        Assert.Equal(HttpStatusCode.OK, (await attribution.PostAsync($"/api/tracking/conversions/{id}/refund", null, Cancel)).StatusCode);

    private static JsonElement Of(List<JsonElement> commissions, string conversionId) =>
        commissions.Single(c => c.GetProperty("conversion_id").GetString() == conversionId);

    private static void Expect(List<JsonElement> commissions, string id, string state, string payout, decimal amount, decimal computed, bool capped)
    {
        var c = Of(commissions, id);
        Assert.Equal((id, state, payout, amount, computed, capped), (id, c.GetProperty("state").GetString(), c.GetProperty("payout").GetProperty("state").GetString(),
            Amount(c, "amount"), Amount(c, "computed"), c.GetProperty("capped_by_budget").GetBoolean()));
        Assert.Equal(amount, Amount(c.GetProperty("payout"), "amount"));
    }

    private static void ExpectTraffic(List<JsonElement> traffic, Guid influencer, string kind, long events, decimal amount, decimal accrued, decimal residue)
    {
        var t = traffic.Single(r => r.GetProperty("influencer_id").GetGuid() == influencer && r.GetProperty("rule_kind").GetString() == kind);
        Assert.Equal((kind, events, amount, accrued, residue, "owed", "scheduled"), (kind, t.GetProperty("events").GetInt64(), Amount(t, "amount"),
            Amount(t, "accrued"), Amount(t, "residue"), t.GetProperty("state").GetString(), t.GetProperty("payout").GetProperty("state").GetString()));
        Assert.Equal(amount, Amount(t.GetProperty("payout"), "amount"));
        Assert.False(t.GetProperty("capped_by_budget").GetBoolean());
    }

    private static decimal Payouts(List<JsonElement> conversions, List<JsonElement> traffic, string state) =>
        conversions.Concat(traffic).Where(c => c.GetProperty("payout").GetProperty("state").GetString() == state)
            .Sum(c => Amount(c.GetProperty("payout"), "amount"));

    private static void ExpectStats(
        JsonElement row, long impressions, long clicks, long conversions, long refunds, decimal revenue, decimal commission, decimal? perClick, decimal? perImpression)
    {
        static decimal? Rate(JsonElement r, string name) => r.GetProperty(name).ValueKind == JsonValueKind.Null ? null : r.GetProperty(name).GetDecimal();
        Assert.Equal((impressions, clicks, conversions, refunds, revenue, commission, perClick, perImpression),
            (row.GetProperty("impressions").GetInt64(), row.GetProperty("clicks").GetInt64(), row.GetProperty("conversions").GetInt64(),
                row.GetProperty("refunds").GetInt64(), Amount(row, "revenue"), Amount(row, "commission_owed"),
                Rate(row, "conversions_per_click"), Rate(row, "conversions_per_impression")));
        Assert.Equal("COP", row.GetProperty("revenue").GetProperty("currency").GetString());
    }
}
