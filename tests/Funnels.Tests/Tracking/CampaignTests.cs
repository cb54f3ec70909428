using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Impressions and conversions: idempotent ids, attribution from the session, statistics that match the raw events.</summary>
[Collection(ServicesCollection.Name)]
public sealed class CampaignTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    internal static async Task<(Guid Campaign, Guid[] Influencers)> CampaignAsync(
        TrackedWorkspace tracked, decimal budget, string currency = "COP", int refundWindowSeconds = 2_592_000, int influencers = 1, object? rule = null,
        DateTimeOffset? endsAt = null)
    {
        var cancel = TestContext.Current.CancellationToken;
        var created = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns", new
        {
            name = "Launch", product = "Course", brand = "Acme", budget = new { amount = budget, currency }, status = "active",
            refund_window_seconds = refundWindowSeconds, ends_at = endsAt,
        }, TrackedWorkspace.Json, cancel);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var campaign = (await TrackedWorkspace.BodyAsync(created)).GetProperty("id").GetGuid();
        var ids = new List<Guid>();
        for (var i = 0; i < influencers; i++)
        {
            var influencer = await tracked.Admin.PostAsJsonAsync("/api/tracking/influencers", new { name = $"Influencer {i}", handle = $"@inf{i}" }, cancel);
            ids.Add((await TrackedWorkspace.BodyAsync(influencer)).GetProperty("id").GetGuid());
        }
        if (rule is not null)
        {
            var added = await tracked.Admin.PostAsJsonAsync($"/api/tracking/campaigns/{campaign}/rules", rule, TrackedWorkspace.Json, cancel);
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }
        return (campaign, ids.ToArray());
    }

    [Fact]
    public async Task The_same_impression_or_conversion_id_twice_records_once()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignAsync(tracked, 1_000_000m);
        var impression = new { id = "imp-1", campaign_id = campaign, influencer_id = influencers[0], user_id = "u1", event_type = "impression",
            user_agent = "Mozilla/5.0", ip_address = "203.0.113.9", referrer = "https://instagram.com", timestamp = DateTimeOffset.UtcNow };
        var conversion = new { id = "conv-1", campaign_id = campaign, influencer_id = influencers[0], user_id = "u1", conversion_type = "purchase",
            value = 150000.0m, currency = "COP", timestamp = DateTimeOffset.UtcNow };

        var impressions = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => tracked.PostJsonAsync("/api/tracking/impressions", impression)));
        var conversions = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => tracked.PostJsonAsync("/api/tracking/conversions", conversion)));

        Assert.All(impressions.Concat(conversions), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Single(await Task.WhenAll(impressions.Select(TrackedWorkspace.BodyAsync)), b => b.GetProperty("recorded").GetBoolean());
        Assert.Single(await Task.WhenAll(conversions.Select(TrackedWorkspace.BodyAsync)), b => b.GetProperty("recorded").GetBoolean());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.impressions WHERE workspace_id = @Id", new { tracked.Id }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id", new { tracked.Id }));
        var stats = await StatsWhenAsync(tracked, campaign, s => s.GetProperty("conversions").GetInt64() == 1 && s.GetProperty("impressions").GetInt64() == 1);
        Assert.Equal(150000.0m, stats.GetProperty("revenue").GetProperty("amount").GetDecimal());
    }

    [Fact]
    public async Task Statistics_per_campaign_and_influencer_match_the_raw_events()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignAsync(tracked, 10_000_000m, influencers: 2);
        var random = new Random(7);
        // Concurrent, but eight at a time: the test servers' PostgreSQL is shared by every service of the run.
        using var gate = new SemaphoreSlim(8);
        var posts = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 60; i++)
        {
            var impression = new
            {
                id = $"i-{i}", campaign_id = campaign, influencer_id = influencers[random.Next(2)], event_type = random.Next(3) == 0 ? "click" : "impression",
            };
            posts.Add(Throttled(gate, () => tracked.PostJsonAsync("/api/tracking/impressions", impression)));
        }
        for (var i = 0; i < 12; i++)
        {
            var conversion = new
            {
                id = $"c-{i}", campaign_id = campaign, influencer_id = influencers[random.Next(2)], conversion_type = "purchase",
                value = 1000m + random.Next(100_000) / 100m, currency = "COP",
            };
            posts.Add(Throttled(gate, () => tracked.PostJsonAsync("/api/tracking/conversions", conversion)));
        }
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PostAsync("/api/tracking/conversions/c-3/refund", null, Cancel)).StatusCode);

        var totals = await StatsWhenAsync(tracked, campaign, s => s.GetProperty("conversions").GetInt64() == 12 && s.GetProperty("refunds").GetInt64() == 1
            && s.GetProperty("impressions").GetInt64() + s.GetProperty("clicks").GetInt64() == 60);
        var raw = await RawAsync(tracked.Id, "");
        Assert.Equal(raw, Figures(totals));
        var view = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
        foreach (var row in view.GetProperty("influencers").GetProperty("items").EnumerateArray())
        {
            Assert.Equal(await RawAsync(tracked.Id, " AND influencer_id = @influencer", row.GetProperty("influencer_id").GetGuid()), Figures(row));
        }
        var page = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/conversions?page=2&page_size=5", Cancel);
        Assert.Equal(12, page.GetProperty("total").GetInt64());
        Assert.Equal(5, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_conversion_without_a_campaign_is_attributed_from_the_visitors_session_and_other_currencies_are_refused()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignAsync(tracked, 500_000m);
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"), session: new { campaign_id = campaign, influencer_id = influencers[0], utm_source = "tiktok" });

        var attributed = await tracked.PostJsonAsync("/api/tracking/conversions",
            new { id = "from-session", workspace_id = tracked.Id, visitor_id = visitor, conversion_type = "signup", value = 99000.0m, currency = "COP" });
        var dollars = await tracked.PostJsonAsync("/api/tracking/conversions",
            new { id = "in-dollars", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 10.5m, currency = "USD" });
        var unknown = await tracked.PostJsonAsync("/api/tracking/conversions",
            new { id = "nobody", workspace_id = tracked.Id, visitor_id = "never-seen", conversion_type = "purchase", value = 1m, currency = "COP" });

        Assert.Equal(HttpStatusCode.Accepted, attributed.StatusCode);
        var body = await TrackedWorkspace.BodyAsync(attributed);
        Assert.Equal(("session", campaign, influencers[0]), (body.GetProperty("attributed_by").GetString(), body.GetProperty("campaign_id").GetGuid(), body.GetProperty("influencer_id").GetGuid()));
        Assert.Equal(HttpStatusCode.BadRequest, dollars.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(dollars)).GetProperty("errors").TryGetProperty("currency", out _));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id", new { tracked.Id }));
    }

    private static async Task<HttpResponseMessage> Throttled(SemaphoreSlim gate, Func<Task<HttpResponseMessage>> send)
    {
        await gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            return await send();
        }
        finally
        {
            gate.Release();
        }
    }

    [Fact]
    public async Task Amounts_are_written_with_the_currencys_scale_and_each_rate_is_named_for_what_it_divides()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignAsync(tracked, 1_000_000.0m);
        Assert.Contains("\"amount\":1000000.00,", await tracked.Admin.GetStringAsync($"/api/tracking/campaigns/{campaign}", Cancel));
        var empty = await tracked.Admin.GetStringAsync($"/api/tracking/campaigns/{campaign}/stats", Cancel);
        Assert.Contains("\"revenue\":{\"amount\":0.00,\"currency\":\"COP\"}", empty);
        Assert.Contains("\"conversions_per_click\":null", empty);

        await tracked.PostJsonAsync("/api/tracking/impressions", new { id = "i-1", campaign_id = campaign, influencer_id = influencers[0], event_type = "impression" });
        await tracked.PostJsonAsync("/api/tracking/impressions", new { id = "c-1", campaign_id = campaign, influencer_id = influencers[0], event_type = "click" });
        foreach (var (id, value) in new[] { ("v-1", 361.5m), ("v-2", 19845.67000m) })
        {
            await tracked.PostJsonAsync("/api/tracking/conversions", new
            {
                id, campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value, currency = "COP",
            });
        }
        await StatsWhenAsync(tracked, campaign, s => s.GetProperty("conversions").GetInt64() == 2 && s.GetProperty("clicks").GetInt64() == 1
            && s.GetProperty("impressions").GetInt64() == 1);
        var stats = await tracked.Admin.GetStringAsync($"/api/tracking/campaigns/{campaign}/stats", Cancel);
        Assert.Contains("\"revenue\":{\"amount\":20207.17,\"currency\":\"COP\"}", stats);
        Assert.Contains("\"commission_owed\":{\"amount\":0.00,", stats);
        // Two conversions for one click: 2 per click, 2 per impression, not one rate of 200 %.
        Assert.Contains("\"conversions_per_click\":2,", stats);
        Assert.Contains("\"conversions_per_impression\":2,", stats);
        Assert.DoesNotContain("conversion_rate", stats);
        var conversions = await tracked.Admin.GetStringAsync($"/api/tracking/campaigns/{campaign}/conversions", Cancel);
        Assert.Contains("\"amount\":361.50,", conversions);
        Assert.Contains("\"amount\":19845.67,", conversions);
    }

    private async Task<JsonElement> StatsWhenAsync(TrackedWorkspace tracked, Guid campaign, Func<JsonElement, bool> done) =>
        await Eventually.Until(async () =>
        {
            var view = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            var totals = view.GetProperty("totals");
            return done(totals) ? (JsonElement?)totals : null;
        }, TimeSpan.FromSeconds(30), "the statistics to catch up") ?? default;

    private static (long, long, long, long, decimal) Figures(JsonElement s) => (s.GetProperty("impressions").GetInt64(), s.GetProperty("clicks").GetInt64(),
        s.GetProperty("conversions").GetInt64(), s.GetProperty("refunds").GetInt64(), s.GetProperty("revenue").GetProperty("amount").GetDecimal());

    private async Task<(long, long, long, long, decimal)> RawAsync(Guid workspace, string filter, Guid influencer = default)
    {
        var p = new { workspace, influencer };
        return (
            await hosts.Servers.CountAsync($"SELECT count(*) FROM tracking.impressions WHERE workspace_id = @workspace AND event_type = 'impression'{filter}", p),
            await hosts.Servers.CountAsync($"SELECT count(*) FROM tracking.impressions WHERE workspace_id = @workspace AND event_type = 'click'{filter}", p),
            await hosts.Servers.CountAsync($"SELECT count(*) FROM tracking.conversions WHERE workspace_id = @workspace{filter}", p),
            await hosts.Servers.CountAsync($"SELECT count(*) FROM tracking.conversions WHERE workspace_id = @workspace AND refunded_at IS NOT NULL{filter}", p),
            await hosts.Servers.ScalarAsync<decimal>($"SELECT coalesce(sum(value_amount), 0) FROM tracking.conversions WHERE workspace_id = @workspace AND refunded_at IS NULL{filter}", p));
    }
}
