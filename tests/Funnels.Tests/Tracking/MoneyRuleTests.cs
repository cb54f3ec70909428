using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Contracts;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// Issue #17, the money rule: every commission owed, capped or paid is in the currency's minor
/// unit (half-even), the cap works on rounded amounts, traffic rounds once at the payout and
/// carries its residue, conversions draw on the budget in recorded order, and states say what happened.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class MoneyRuleTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("COP", 0.225, 0.22)] // a tie goes to the even digit (half-up would give 0.23)
    [InlineData("COP", 0.235, 0.24)]
    [InlineData("COP", 955826.12532, 955826.13)]
    [InlineData("JPY", 2.5, 2)]
    [InlineData("KWD", 1.2345, 1.234)]
    public void Amounts_round_half_even_to_the_currencys_minor_unit(string currency, decimal exact, decimal rounded) =>
        Assert.Equal(new Money(rounded, currency), new Money(exact, currency).Rounded());

    [Fact]
    public async Task A_capped_commission_is_whole_minor_units_and_what_is_owed_never_passes_the_budget()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 100m, influencers: 2,
            rule: new { kind = "per_conversion_percent", percent = 7.5m });
        await kit.RuleAsync(campaign, new { kind = "per_mille_impressions", amount = 14.68m, influencer_id = influencers[1] });

        // One impression accrues 14.68/1000 = 0.01468 exactly; the budget reserves the whole minor unit of it, 0.01.
        await tracked.PostJsonAsync("/api/tracking/impressions", new { id = "imp-1", campaign_id = campaign, influencer_id = influencers[1], event_type = "impression" });
        var traffic = Assert.Single(await kit.CommissionsAsync(campaign, "traffic", items => items.Count == 1 && items[0].GetProperty("events").GetInt64() == 1));
        Assert.Equal(0.01m, Amount(traffic, "amount"));
        Assert.Equal(0.01468m, Amount(traffic, "accrued"));
        Assert.Equal(0.00468m, Amount(traffic, "residue"));
        Assert.Equal(0.01m, Amount(traffic.GetProperty("payout"), "amount"));
        Assert.Equal("owed", traffic.GetProperty("state").GetString());

        // 7.5 % of 3 COP is 0.225: half-even gives 0.22.
        await kit.ConversionAsync(campaign, influencers[0], "small", 3m);
        await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 1);
        // 7.5 % of 2000 is 150, capped to what is left: 100 - 0.01 - 0.22 = 99.77 (not 99.76532).
        await kit.ConversionAsync(campaign, influencers[0], "large", 2000m);
        var conversions = await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 2);
        var small = conversions.Single(c => c.GetProperty("conversion_id").GetString() == "small");
        var large = conversions.Single(c => c.GetProperty("conversion_id").GetString() == "large");
        Assert.Equal(0.22m, Amount(small, "amount"));
        Assert.Equal(99.77m, Amount(large, "amount"));
        Assert.Equal(150m, Amount(large, "computed"));
        Assert.True(large.GetProperty("capped_by_budget").GetBoolean());
        Assert.Equal(99.77m, Amount(large.GetProperty("payout"), "amount"));

        // A third conversion finds nothing left: its payout of zero is closed at once.
        await kit.ConversionAsync(campaign, influencers[0], "none-left", 50m);
        var none = (await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 3)).Single(c => c.GetProperty("conversion_id").GetString() == "none-left");
        Assert.Equal(0m, Amount(none, "amount"));
        Assert.Equal("nothing_due", none.GetProperty("state").GetString());
        Assert.Equal("nothing_due", none.GetProperty("payout").GetProperty("state").GetString());

        // Committed, owed in the statistics and what the payouts will pay: 0.01 + 0.22 + 99.77 = 100.00 exactly.
        Assert.Equal(100m, await kit.CommittedAsync(campaign));
        await kit.CommissionOwedAsync(campaign, 100m);
        Assert.Equal(100m, await hosts.Servers.ScalarAsync<decimal>(
            "SELECT sum(amount) FROM messaging.payouts WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task Traffic_is_paid_in_whole_minor_units_and_its_residue_is_carried_into_the_next_period()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        // No end date: calendar-month periods; a refund window of 0 makes a past month's payout due at once.
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, currency: "USD", refundWindowSeconds: 0,
            rule: new { kind = "per_mille_impressions", amount = 2.5m });
        var (clock, tracking, attribution) = kit.ClockedTracking();
        await using var _ = tracking;
        using var __ = attribution;
        var monthAgo = DateTimeOffset.UtcNow.AddMonths(-3);
        var first = new DateTimeOffset(monthAgo.Year, monthAgo.Month, 10, 12, 0, 0, TimeSpan.Zero);

        // Month one: 7 × 2.5/1000 = 0.0175 accrued. Its payout is due at once (a past month), so it may fire before all seven
        // arrive; later ones then open a new row of the same period. However they split, each row pays whole cents and
        // carries its residue into the next: 0.01 is paid in all and 0.0075 carried on.
        clock.Set(first);
        await kit.TrafficAsync(attribution, campaign, influencers[0], "impression", "m1", 7);
        var monthOne = await kit.CommissionsAsync(campaign, "traffic", items => Closed(items, 7));
        Assert.Equal(0.01m, monthOne.Sum(c => Amount(c, "amount")));
        Assert.Equal(0.01m, monthOne.Sum(c => Amount(c.GetProperty("payout"), "amount")));
        Assert.Contains(monthOne, c => c.GetProperty("state").GetString() == "paid");

        // Month two: the 0.0075 is carried in; 0.0075 + 0.0175 = 0.025 pays 0.02. Without the carry, 0.01 would be paid.
        clock.Set(first.AddMonths(1));
        await kit.TrafficAsync(attribution, campaign, influencers[0], "impression", "m2", 7);
        var all = await kit.CommissionsAsync(campaign, "traffic", items => Closed(items, 14));
        Assert.All(all, c => Assert.Equal(Amount(c, "amount"), Math.Round(Amount(c, "amount"), 2)));
        Assert.All(all, c => Assert.Equal(Amount(c, "amount"), Amount(c.GetProperty("payout"), "amount")));
        Assert.Equal(0.03m, all.Sum(c => Amount(c.GetProperty("payout"), "amount")));
        Assert.Equal(0.035m, all.Sum(c => Amount(c, "accrued") - Amount(c, "carried")));
        // Paid 0.03 of 0.035 earned; the 0.005 left shows as the residue of the last row (nothing to carry it into yet).
        var last = all.MaxBy(c => c.GetProperty("created_at").GetDateTime());
        Assert.Equal(0.005m, Amount(last, "residue"));
        Assert.Equal(0.005m, all.Sum(c => Amount(c, "residue")));
        Assert.Equal(0.03m, await kit.CommittedAsync(campaign));
        await kit.CommissionOwedAsync(campaign, 0.03m);
    }

    [Fact]
    public async Task A_traffic_payout_of_less_than_a_minor_unit_is_closed_as_nothing_due_and_shows_its_residue()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        var endsAt = DateTimeOffset.UtcNow.AddSeconds(1);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, currency: "USD", refundWindowSeconds: 0,
            rule: new { kind = "per_mille_impressions", amount = 2.5m }, endsAt: endsAt);
        var (clock, tracking, attribution) = kit.ClockedTracking();
        await using var _ = tracking;
        using var __ = attribution;
        clock.Set(endsAt.AddMinutes(-1));

        // One impression earns 0.0025 USD: no whole cent to pay. The payout falls due after the end and closes as nothing_due.
        await kit.TrafficAsync(attribution, campaign, influencers[0], "impression", "tiny", 1);
        var closed = Assert.Single(await kit.CommissionsAsync(campaign, "traffic", items => items.Count == 1
            && items[0].GetProperty("payout").GetProperty("state").GetString() == "nothing_due"));
        Assert.Equal("nothing_due", closed.GetProperty("state").GetString());
        Assert.Equal(0m, Amount(closed, "amount"));
        Assert.Equal(0m, Amount(closed.GetProperty("payout"), "amount"));
        Assert.Equal(0.0025m, Amount(closed, "residue"));
        Assert.Equal(JsonValueKind.Null, closed.GetProperty("payout").GetProperty("paid_at").ValueKind);
        Assert.Equal(0m, await kit.CommittedAsync(campaign));
    }

    /// <summary>All <paramref name="events"/> accrued and every row's payout closed (paid, or nothing_due when it earned less than a cent).</summary>
    private static bool Closed(List<JsonElement> items, long events) =>
        items.Sum(c => c.GetProperty("events").GetInt64()) == events
        && items.All(c => c.GetProperty("payout").GetProperty("state").GetString() is "paid" or "nothing_due");

    [Fact]
    public async Task A_conversion_recorded_earlier_gets_the_last_of_the_budget_even_when_the_worker_handles_it_later()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 100m, influencers: 2, rule: new { kind = "per_conversion_fixed", amount = 60m });
        var (clock, tracking, attribution) = kit.ClockedTracking();
        await using var _ = tracking;
        using var __ = attribution;
        var earlier = DateTimeOffset.UtcNow;

        // Recorded 12 ms later, but reaches the worker first and takes 60.
        clock.Set(earlier.AddMilliseconds(12));
        await kit.ConversionAsync(campaign, influencers[1], "recorded-later", 500m, attribution);
        var first = Assert.Single(await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 1));
        Assert.Equal(60m, Amount(first, "amount"));

        // The earlier one arrives late: it draws first (60), the later one is re-drawn to what is left (40).
        clock.Set(earlier);
        await kit.ConversionAsync(campaign, influencers[0], "recorded-earlier", 500m, attribution);
        var commissions = await kit.CommissionsAsync(campaign, "conversion",
            items => items.Count == 2 && items.Any(c => c.GetProperty("capped_by_budget").GetBoolean()));
        var early = commissions.Single(c => c.GetProperty("conversion_id").GetString() == "recorded-earlier");
        var late = commissions.Single(c => c.GetProperty("conversion_id").GetString() == "recorded-later");
        Assert.Equal(60m, Amount(early, "amount"));
        Assert.False(early.GetProperty("capped_by_budget").GetBoolean());
        Assert.Equal(40m, Amount(late, "amount"));
        Assert.Equal(40m, Amount(late.GetProperty("payout"), "amount"));
        Assert.Equal("scheduled", late.GetProperty("payout").GetProperty("state").GetString());
        Assert.Equal(100m, await kit.CommittedAsync(campaign));
        // The statistics follow the re-draw: 60 + 60 - 20 for the totals, 40 for the later influencer.
        await kit.CommissionOwedAsync(campaign, 100m);
        await Eventually.Until(async () =>
        {
            var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            return stats.GetProperty("influencers").GetProperty("items").EnumerateArray().Any(i => i.GetProperty("influencer_id").GetGuid() == influencers[1]
                && i.GetProperty("commission_owed").GetProperty("amount").GetDecimal() == 40m) ? "done" : null;
        }, MoneyKit.Bound, "the later influencer's commission owed of 40");
    }

    [Fact]
    public async Task Two_conversions_raced_for_the_last_of_a_budget_leave_it_to_the_one_recorded_first()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 60m, influencers: 2, rule: new { kind = "per_conversion_fixed", amount = 60m });
        var (earlyClock, earlyHost, earlyClient) = kit.ClockedTracking();
        var (lateClock, lateHost, lateClient) = kit.ClockedTracking();
        await using var _ = earlyHost;
        await using var __ = lateHost;
        using var ___ = earlyClient;
        using var ____ = lateClient;
        var at = DateTimeOffset.UtcNow;
        earlyClock.Set(at);
        lateClock.Set(at.AddMilliseconds(12));

        // Posted together (the later first): whichever the worker handles first, the earlier-recorded one gets the 60.
        await Task.WhenAll(kit.ConversionAsync(campaign, influencers[1], "race-later", 500m, lateClient), kit.ConversionAsync(campaign, influencers[0], "race-earlier", 500m, earlyClient));
        var commissions = await kit.CommissionsAsync(campaign, "conversion",
            items => items.Count == 2 && items.Any(c => c.GetProperty("state").GetString() == "nothing_due"));
        Assert.Equal(60m, Amount(commissions.Single(c => c.GetProperty("conversion_id").GetString() == "race-earlier"), "amount"));
        var later = commissions.Single(c => c.GetProperty("conversion_id").GetString() == "race-later");
        Assert.Equal(0m, Amount(later, "amount"));
        Assert.Equal("nothing_due", later.GetProperty("payout").GetProperty("state").GetString());
        Assert.Equal(60m, await kit.CommittedAsync(campaign));
        await kit.CommissionOwedAsync(campaign, 60m);
    }

    [Fact]
    public async Task A_refund_after_payment_reverses_the_commission_for_a_claw_back()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var kit = Kit(tracked);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, refundWindowSeconds: 0,
            rule: new { kind = "per_conversion_percent", percent = 7.5m });
        // 7.5 % of 19,845.67 is 1,488.42525: 1,488.43.
        await kit.ConversionAsync(campaign, influencers[0], "paid-then-refunded", 19845.67m);
        var paid = Assert.Single(await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 1 && items[0].GetProperty("state").GetString() == "paid"));
        Assert.Equal("paid", paid.GetProperty("payout").GetProperty("state").GetString());
        Assert.Equal(1488.43m, Amount(paid.GetProperty("payout"), "amount"));

        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PostAsync("/api/tracking/conversions/paid-then-refunded/refund", null, Cancel)).StatusCode);
        var reversed = Assert.Single(await kit.CommissionsAsync(campaign, "conversion", items => items.Count == 1 && items[0].GetProperty("state").GetString() == "reversed"));
        Assert.Equal("reversed", reversed.GetProperty("payout").GetProperty("state").GetString());
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var listed = await worker.GetFromJsonAsync<JsonElement>("/api/messaging/payouts?state=reversed", Cancel);
        Assert.Equal(1488.43m, Amount(Assert.Single(listed.GetProperty("items").EnumerateArray()), "amount"));
        Assert.Equal(0m, await kit.CommittedAsync(campaign));
    }

    private MoneyKit Kit(TrackedWorkspace tracked) => new(hosts, tracked);

    private static decimal Amount(JsonElement element, string name) => MoneyKit.Amount(element, name);
}
