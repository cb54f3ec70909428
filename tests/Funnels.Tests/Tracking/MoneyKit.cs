extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Tracking;

/// <summary>What the money tests share: attribution posts, a Tracking.Api whose clock the test sets, and reads of commissions, budget and statistics.</summary>
internal sealed class MoneyKit(Hosts hosts, TrackedWorkspace tracked)
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static decimal Amount(JsonElement element, string name) => element.GetProperty(name).GetProperty("amount").GetDecimal();

    public async Task RuleAsync(Guid campaign, object rule)
    {
        var added = await tracked.Admin.PostAsJsonAsync($"/api/tracking/campaigns/{campaign}/rules", rule, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
    }

    /// <summary>Posts an attribution body with <paramref name="attribution"/> (the workspace's attribution client by default).</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, object body, HttpClient? attribution = null) =>
        await (attribution ?? tracked.Attribution).PostAsJsonAsync(path, body, TrackedWorkspace.Json, Cancel);

    public async Task ConversionAsync(Guid campaign, Guid influencer, string id, decimal value, HttpClient? attribution = null, DateTimeOffset? timestamp = null)
    {
        var posted = await PostAsync("/api/tracking/conversions", new
        {
            id, campaign_id = campaign, influencer_id = influencer, conversion_type = "purchase", value, currency = "COP", timestamp,
        }, attribution);
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
    }

    public async Task TrafficAsync(HttpClient attribution, Guid campaign, Guid influencer, string eventType, string prefix, int count)
    {
        var posts = Enumerable.Range(0, count).Select(i => PostAsync("/api/tracking/impressions", new
        {
            id = $"{prefix}-{i}", campaign_id = campaign, influencer_id = influencer, event_type = eventType,
        }, attribution));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
    }

    /// <summary>A Tracking.Api of the test's own whose clock the test sets, and an attribution client of the workspace on it.</summary>
    public (TestClock Clock, ServiceHost<tracking::Program> Host, HttpClient Attribution) ClockedTracking()
    {
        var clock = new TestClock();
        var host = new ServiceHost<tracking::Program>(hosts.Servers, services: s => s.AddSingleton<TimeProvider>(clock));
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Add(TrackedWorkspace.AttributionKeyHeader, tracked.AttributionKey);
        return (clock, host, client);
    }

    public async Task<List<JsonElement>> CommissionsAsync(Guid campaign, string kind, Func<List<JsonElement>, bool> ready)
    {
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        return await Eventually.Until(async () =>
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={campaign}&kind={kind}&page_size=100", Cancel);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            return ready(items) ? items : null;
        }, Bound, $"the {kind} commissions");
    }

    public Task<decimal> CommittedAsync(Guid campaign) =>
        hosts.Servers.ScalarAsync<decimal>("SELECT committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @campaign", new { campaign });

    public Task CommissionOwedAsync(Guid campaign, decimal expected) =>
        Eventually.Until(async () =>
        {
            var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/stats", Cancel);
            return stats.GetProperty("totals").GetProperty("commission_owed").GetProperty("amount").GetDecimal() == expected ? "done" : null;
        }, Bound, $"commission owed of {expected} in the statistics");
}
