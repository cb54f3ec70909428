using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Impressions, conversions and refunds move money: attribution clients send the workspace's attribution key; anyone else is refused and nothing is written.</summary>
[Collection(ServicesCollection.Name)]
public sealed class AttributionKeyTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Conversions_and_impressions_without_the_workspace_key_are_refused_and_write_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m, rule: new { kind = "per_conversion_fixed", amount = 1000m });
        var conversion = new { id = "forged", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 150000.0m, currency = "COP" };
        var impression = new { id = "forged", campaign_id = campaign, influencer_id = influencers[0], event_type = "click" };

        var refused = new List<(HttpResponseMessage Response, HttpStatusCode Expected)>();
        foreach (var (path, body) in new (string, object)[] { ("/api/tracking/conversions", conversion), ("/api/tracking/impressions", impression) })
        {
            refused.Add((await tracked.Public.PostAsJsonAsync(path, body, TrackedWorkspace.Json, Cancel), HttpStatusCode.Unauthorized));
            refused.Add((await SendWithKeyAsync(tracked.Public, path, body, "atk_not-a-key"), HttpStatusCode.Unauthorized));
            refused.Add((await SendWithKeyAsync(tracked.Public, path, body, other.AttributionKey!), HttpStatusCode.Forbidden));
        }
        // Attributed from the visitor's session, with only a workspace id: the same rule.
        refused.Add((await tracked.Public.PostAsJsonAsync("/api/tracking/conversions", new
        {
            id = "forged-session", workspace_id = tracked.Id, visitor_id = "v-1", conversion_type = "purchase", value = 1.0m, currency = "COP",
        }, TrackedWorkspace.Json, Cancel), HttpStatusCode.Unauthorized));

        foreach (var (response, expected) in refused)
        {
            Assert.Equal(expected, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        }
        Assert.Equal(0, await RowsAsync(tracked.Id));

        // The workspace's own key records both.
        var accepted = await tracked.PostJsonAsync("/api/tracking/conversions", conversion);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(accepted)).GetProperty("recorded").GetBoolean());
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.PostJsonAsync("/api/tracking/impressions", impression)).StatusCode);
        Assert.Equal(2, await RowsAsync(tracked.Id));
    }

    [Fact]
    public async Task Refunds_need_an_editor_token_or_the_attribution_key()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m);
        foreach (var id in new[] { "by-key", "by-token" })
        {
            Assert.Equal(HttpStatusCode.Accepted, (await tracked.PostJsonAsync("/api/tracking/conversions", new
            {
                id, campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 1000.0m, currency = "COP",
            })).StatusCode);
        }
        using var viewer = hosts.Tracking.CreateAdminClient(tracked.Id, role: "viewer");

        var anonymous = await tracked.Public.PostAsync("/api/tracking/conversions/by-key/refund", null, Cancel);
        var wrongKey = await SendWithKeyAsync(tracked.Public, "/api/tracking/conversions/by-key/refund", null, "atk_not-a-key");
        var notEditor = await viewer.PostAsync("/api/tracking/conversions/by-key/refund", null, Cancel);
        // Another workspace's key finds no such conversion in its own workspace.
        var otherKey = await SendWithKeyAsync(tracked.Public, "/api/tracking/conversions/by-key/refund", null, other.AttributionKey!);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, notEditor.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, otherKey.StatusCode);
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id AND refunded_at IS NOT NULL", new { tracked.Id }));

        Assert.Equal(HttpStatusCode.OK, (await SendWithKeyAsync(tracked.Public, "/api/tracking/conversions/by-key/refund", null, tracked.AttributionKey!)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PostAsync("/api/tracking/conversions/by-token/refund", null, Cancel)).StatusCode);
        Assert.Equal(2, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id AND refunded_at IS NOT NULL", new { tracked.Id }));
    }

    [Fact]
    public async Task A_workspace_can_accept_attribution_without_a_key_while_its_clients_catch_up_and_a_rotated_key_stops_working()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m);
        var settings = await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/settings", Cancel);
        Assert.True(settings.GetProperty("has_attribution_key").GetBoolean());
        Assert.True(settings.GetProperty("attribution_key_required").GetBoolean());

        var put = await tracked.Admin.PutAsJsonAsync("/api/tracking/settings", new { visitor_field = "fid_vid", storage_key = "_ud", attribution_key_required = false }, TrackedWorkspace.Json, Cancel);
        Assert.False((await TrackedWorkspace.BodyAsync(put)).GetProperty("attribution_key_required").GetBoolean());
        var legacy = await tracked.Public.PostAsJsonAsync("/api/tracking/conversions", new
        {
            id = "legacy-client", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 1000.0m, currency = "COP",
        }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, legacy.StatusCode);

        // A key that is sent is still checked: the old one after a rotation is refused.
        var old = tracked.AttributionKey!;
        (await tracked.Admin.PostAsync("/api/tracking/settings/attribution-key", null, Cancel)).EnsureSuccessStatusCode();
        var rotated = await SendWithKeyAsync(tracked.Public, "/api/tracking/conversions", new
        {
            id = "old-key", campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 1000.0m, currency = "COP",
        }, old);
        Assert.Equal(HttpStatusCode.Unauthorized, rotated.StatusCode);
        Assert.Equal(1, await RowsAsync(tracked.Id));
    }

    private Task<long> RowsAsync(Guid workspace) => hosts.Servers.CountAsync("""
        SELECT (SELECT count(*) FROM tracking.conversions WHERE workspace_id = @workspace) + (SELECT count(*) FROM tracking.impressions WHERE workspace_id = @workspace)
        """, new { workspace });

    private Task<HttpResponseMessage> SendWithKeyAsync(HttpClient client, string path, object? body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body, options: TrackedWorkspace.Json) };
        request.Headers.Add(TrackedWorkspace.AttributionKeyHeader, key);
        return client.SendAsync(request, Cancel);
    }
}
