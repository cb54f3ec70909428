using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// Attribution clients already in use: Spanish field names (aliases of ours), their own ids for
/// impressions and conversions, and their own keys for campaigns and influencers (cmp-123,
/// inf-001); and the reads they make. Bodies are shaped exactly as those clients send them.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class AttributionClientTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string SpanishImpression(string id, string tipo, string campaign = "cmp-123", string influencer = "inf-001") => $$"""
        {"id": "{{id}}", "campaña_id": "{{campaign}}", "influencer_id": "{{influencer}}", "usuario_id": "usr-101", "tipo_evento": "{{tipo}}",
         "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "ip_address": "203.0.113.9",
         "referrer": "https://instagram.com/", "timestamp": "{{DateTimeOffset.UtcNow:O}}"}
        """;

    private static string SpanishConversion(string id, decimal valor = 150000.0m, string campaign = "cmp-123") => $$"""
        {"id": "{{id}}", "campaña_id": "{{campaign}}", "influencer_id": "inf-001", "usuario_id": "usr-101", "tipo_conversion": "VENTA",
         "valor": {{valor.ToString("0.0###", System.Globalization.CultureInfo.InvariantCulture)}}, "moneda": "COP", "timestamp": "{{DateTimeOffset.UtcNow:O}}"}
        """;

    private Task<HttpResponseMessage> PostRawAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Cancel);

    /// <summary>A campaign named cmp-123 with influencer inf-001 (keys are per workspace: every test's workspace is new).</summary>
    private async Task<(Guid Campaign, Guid Influencer)> KeyedCampaignAsync(TrackedWorkspace tracked, object? rule = null, string campaignKey = "cmp-123")
    {
        var created = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns", new
        {
            name = "Lanzamiento", budget = new { amount = 10_000_000m, currency = "COP" }, status = "active", external_key = campaignKey,
        }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await TrackedWorkspace.BodyAsync(created);
        Assert.Equal(campaignKey, body.GetProperty("external_key").GetString());
        var campaign = body.GetProperty("id").GetGuid();
        var influencer = (await TrackedWorkspace.BodyAsync(await tracked.Admin.PostAsJsonAsync("/api/tracking/influencers",
            new { name = "Ana", handle = "@ana" }, Cancel))).GetProperty("id").GetGuid();
        // Set afterwards, as for an influencer that existed before its client's key was known.
        var keyed = await tracked.Admin.PutAsJsonAsync($"/api/tracking/influencers/{influencer}/external-key", new { external_key = "inf-001" }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
        if (rule is not null)
        {
            Assert.Equal(HttpStatusCode.Created, (await tracked.Admin.PostAsJsonAsync($"/api/tracking/campaigns/{campaignKey}/rules", rule, TrackedWorkspace.Json, Cancel)).StatusCode);
        }
        return (campaign, influencer);
    }

    private async Task<List<T>> QueryAsync<T>(string sql, object parameters)
    {
        await using var connection = new Npgsql.NpgsqlConnection(hosts.Servers.Postgres);
        return (await Dapper.SqlMapper.QueryAsync<T>(connection, sql, parameters)).ToList();
    }

    private Task<long> CountAsync(string table, Guid workspace) =>
        hosts.Servers.CountAsync($"SELECT count(*) FROM tracking.{table} WHERE workspace_id = @workspace", new { workspace });

    [Fact]
    public async Task Spanish_bodies_exactly_as_clients_send_them_are_recorded_and_commissioned_like_English_ones()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked, new { kind = "per_conversion_percent", percent = 10m });
        Assert.Equal(HttpStatusCode.Created, (await tracked.Admin.PostAsJsonAsync($"/api/tracking/campaigns/{campaign}/rules",
            new { kind = "per_click", influencer_id = "inf-001", amount = 500m }, TrackedWorkspace.Json, Cancel)).StatusCode);

        var impression = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("imp-123", "IMPRESION"));
        var click = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("imp-124", "CLICK"));
        var sale = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-123"));
        // The same sale in our names, for the comparison.
        var english = await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "conv-124", campaign_id = campaign, influencer_id = influencer, user_id = "usr-101", conversion_type = "VENTA", value = 150000.0m, currency = "COP",
        });

        foreach (var response in new[] { impression, click, sale, english })
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Cancel));
        }
        var recorded = await TrackedWorkspace.BodyAsync(sale);
        Assert.Equal(("conv-123", campaign, influencer), (recorded.GetProperty("id").GetString(), recorded.GetProperty("campaign_id").GetGuid(), recorded.GetProperty("influencer_id").GetGuid()));
        Assert.Equal([("imp-123", "impression", "usr-101"), ("imp-124", "click", "usr-101")],
            await QueryAsync<(string, string, string)>("SELECT id, event_type, user_id FROM tracking.impressions WHERE workspace_id = @Id ORDER BY id", new { tracked.Id }));
        Assert.Equal([("conv-123", "VENTA", 150000.0m, "COP"), ("conv-124", "VENTA", 150000.0m, "COP")],
            await QueryAsync<(string, string, decimal, string)>(
                "SELECT id, conversion_type, value_amount, currency FROM tracking.conversions WHERE workspace_id = @Id ORDER BY id", new { tracked.Id }));

        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var commissions = await Eventually.Until(async () =>
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={campaign}&kind=conversion", Cancel);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            return items.Count == 2 ? items : null;
        }, TimeSpan.FromSeconds(30), "both conversions' commissions");
        Assert.All(commissions, c => Assert.Equal(15000m, c.GetProperty("amount").GetProperty("amount").GetDecimal()));
        // The CLICK is paid by the per_click rule; the IMPRESION is counted but no rule pays it.
        await Eventually.Until(() => hosts.Servers.ScalarAsync<decimal?>(
            "SELECT accrued_amount FROM messaging.traffic_commissions WHERE campaign_id = @campaign AND rule_kind = 'per_click'", new { campaign })
            .ContinueWith(t => t.Result == 500m ? "paid" : null), TimeSpan.FromSeconds(30), "the click's commission");
        var stats = await Eventually.Until(async () =>
        {
            var totals = (await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-123/stats", Cancel)).GetProperty("totals");
            return totals.GetProperty("impressions").GetInt64() == 1 && totals.GetProperty("clicks").GetInt64() == 1 && totals.GetProperty("conversions").GetInt64() == 2
                ? (JsonElement?)totals : null;
        }, TimeSpan.FromSeconds(30), "the statistics");
        Assert.Equal(300000.0m, stats!.Value.GetProperty("revenue").GetProperty("amount").GetDecimal());
    }

    [Fact]
    public async Task Aliases_mix_with_our_names_and_a_field_given_under_both_with_different_values_is_refused_naming_both()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked);

        var mixed = await tracked.PostJsonAsync("/api/tracking/impressions",
            new Dictionary<string, object> { ["id"] = "mix-1", ["campaign_id"] = campaign, ["influencer_id"] = "inf-001", ["usuario_id"] = "usr-7", ["tipo_evento"] = "clic" });
        var sameTwice = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions",
            $$"""{"id": "mix-2", "campaign_id": "cmp-123", "campaña_id": "cmp-123", "influencer_id": "{{influencer}}", "event_type": "impression", "tipo_evento": "impression"}""");
        var conversionMixed = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions",
            """{"id": "mix-3", "campaña_id": "cmp-123", "influencer_id": "inf-001", "conversion_type": "VENTA", "valor": 99000.0, "currency": "COP"}""");
        Assert.Equal(HttpStatusCode.Accepted, mixed.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, sameTwice.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, conversionMixed.StatusCode);
        Assert.Equal([("click", "usr-7")], await QueryAsync<(string, string)>(
            "SELECT event_type, user_id FROM tracking.impressions WHERE workspace_id = @Id AND id = 'mix-1'", new { tracked.Id }));

        var before = (await CountAsync("impressions", tracked.Id), await CountAsync("conversions", tracked.Id));
        (string Path, string Json, string[] Named)[] conflicts =
        [
            ("/api/tracking/impressions", $$"""{"id": "c-1", "campaign_id": "{{campaign}}", "campaña_id": "cmp-999", "influencer_id": "inf-001", "event_type": "click"}""",
                ["campaign_id", "campaña_id"]),
            ("/api/tracking/impressions", """{"id": "c-2", "campaña_id": "cmp-123", "influencer_id": "inf-001", "event_type": "click", "tipo_evento": "IMPRESION"}""",
                ["event_type", "tipo_evento"]),
            ("/api/tracking/conversions", """{"id": "c-3", "campaña_id": "cmp-123", "influencer_id": "inf-001", "tipo_conversion": "VENTA", "valor": 150000.0, "value": 15.0, "moneda": "COP"}""",
                ["valor", "value"]),
            ("/api/tracking/conversions", """{"id": "c-4", "campaña_id": "cmp-123", "influencer_id": "inf-001", "tipo_conversion": "VENTA", "valor": 150000.0, "moneda": "COP", "currency": "USD"}""",
                ["moneda", "currency"]),
        ];
        foreach (var (path, json, named) in conflicts)
        {
            var response = await PostRawAsync(tracked.Attribution, path, json);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = (await TrackedWorkspace.BodyAsync(response)).GetProperty("errors");
            foreach (var name in named)
            {
                Assert.True(errors.TryGetProperty(name, out var message), $"{json} → {errors}");
                Assert.Contains(named.Single(n => n != name), message[0].GetString());
            }
        }
        Assert.Equal(before, (await CountAsync("impressions", tracked.Id), await CountAsync("conversions", tracked.Id)));
    }

    [Fact]
    public async Task A_missing_or_unknown_event_type_is_refused_naming_it_and_writes_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        await KeyedCampaignAsync(tracked);

        (string Json, string Field)[] cases =
        [
            ("""{"id": "e-1", "campaña_id": "cmp-123", "influencer_id": "inf-001", "usuario_id": "usr-101"}""", "event_type"),
            ("""{"id": "e-2", "campaña_id": "cmp-123", "influencer_id": "inf-001", "tipo_evento": ""}""", "tipo_evento"),
            ("""{"id": "e-3", "campaña_id": "cmp-123", "influencer_id": "inf-001", "tipo_evento": "VISTA"}""", "tipo_evento"),
            ("""{"id": "e-4", "campaña_id": "cmp-123", "influencer_id": "inf-001", "event_type": null}""", "event_type"),
        ];
        foreach (var (json, field) in cases)
        {
            var response = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", json);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await TrackedWorkspace.BodyAsync(response)).GetProperty("errors").TryGetProperty(field, out _), json);
        }
        Assert.Equal(0, await CountAsync("impressions", tracked.Id));
    }

    [Fact]
    public async Task Campaigns_and_influencers_are_addressed_by_their_external_keys_in_urls_and_bodies_within_their_workspace()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked);
        // The same keys in another workspace are that workspace's own.
        var (otherCampaign, _) = await KeyedCampaignAsync(other);

        var byKey = await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-123", Cancel);
        Assert.Equal(campaign, byKey.GetProperty("id").GetGuid());
        Assert.Equal(influencer, (await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/influencers/inf-001", Cancel)).GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.GetAsync("/api/tracking/campaigns/cmp-123/rules", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.GetAsync("/api/tracking/influencers/inf-001/stats", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await tracked.Admin.GetAsync("/api/tracking/campaigns/cmp-404", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await tracked.Admin.GetAsync($"/api/tracking/campaigns/{otherCampaign}", Cancel)).StatusCode);

        // Each key finds its own workspace's campaign.
        Assert.Equal(HttpStatusCode.Accepted, (await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("k-1", "CLICK"))).StatusCode);
        var theirs = await PostRawAsync(other.Attribution, "/api/tracking/impressions", SpanishImpression("k-1", "CLICK"));
        Assert.Equal(HttpStatusCode.Accepted, theirs.StatusCode);
        Assert.Equal(otherCampaign, (await TrackedWorkspace.BodyAsync(theirs)).GetProperty("campaign_id").GetGuid());
        var unknown = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("k-2", "CLICK", campaign: "cmp-999"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(unknown)).GetProperty("errors").TryGetProperty("campaña_id", out _));
        var unknownInfluencer = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("k-3", "CLICK", influencer: "inf-999"));
        Assert.Equal(HttpStatusCode.BadRequest, unknownInfluencer.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(unknownInfluencer)).GetProperty("errors").TryGetProperty("influencer_id", out _));

        // Keys are validated and unique per workspace.
        foreach (var bad in new[] { "has space", "-leading", "0193a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b", new string('k', 65), "ñandú" })
        {
            var refused = await tracked.Admin.PutAsJsonAsync($"/api/tracking/campaigns/{campaign}/external-key", new { external_key = bad }, TrackedWorkspace.Json, Cancel);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await TrackedWorkspace.BodyAsync(refused)).GetProperty("errors").TryGetProperty("external_key", out _), bad);
        }
        var taken = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns",
            new { name = "Otra", budget = new { amount = 1m, currency = "COP" }, external_key = "cmp-123" }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.campaigns WHERE workspace_id = @Id", new { tracked.Id }));
        // A key can be changed; the old one then names nothing.
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PutAsJsonAsync("/api/tracking/campaigns/cmp-123/external-key",
            new { external_key = "cmp-200" }, TrackedWorkspace.Json, Cancel)).StatusCode);
        Assert.Equal(campaign, (await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-200", Cancel)).GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.NotFound, (await tracked.Admin.GetAsync("/api/tracking/campaigns/cmp-123", Cancel)).StatusCode);
    }

    [Fact]
    public async Task Records_are_read_by_the_clients_id_or_ours_and_listed_paged_and_another_workspaces_are_invisible()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked);
        await KeyedCampaignAsync(other);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression($"imp-{i}", i == 0 ? "CLICK" : "IMPRESION"))).StatusCode);
        }
        var sale = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-1"));
        Assert.Equal(HttpStatusCode.Accepted, (await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-2", 99000.0m))).StatusCode);
        var recordId = (await TrackedWorkspace.BodyAsync(sale)).GetProperty("record_id").GetGuid();
        // The other workspace has its own imp-0 and conv-1.
        await PostRawAsync(other.Attribution, "/api/tracking/impressions", SpanishImpression("imp-0", "CLICK"));
        await PostRawAsync(other.Attribution, "/api/tracking/conversions", SpanishConversion("conv-1", 1.0m));

        var impression = await tracked.Attribution.GetFromJsonAsync<JsonElement>("/api/tracking/impressions/imp-0", Cancel);
        Assert.Equal(("imp-0", "click", campaign, "cmp-123", influencer, "inf-001", "usr-101", "203.0.113.9"), (impression.GetProperty("id").GetString(),
            impression.GetProperty("event_type").GetString(), impression.GetProperty("campaign_id").GetGuid(), impression.GetProperty("campaign_external_key").GetString(),
            impression.GetProperty("influencer_id").GetGuid(), impression.GetProperty("influencer_external_key").GetString(),
            impression.GetProperty("user_id").GetString(), impression.GetProperty("ip_address").GetString()));
        var ours = await tracked.Attribution.GetFromJsonAsync<JsonElement>($"/api/tracking/impressions/{impression.GetProperty("record_id").GetGuid()}", Cancel);
        Assert.Equal("imp-0", ours.GetProperty("id").GetString());

        foreach (var path in new[] { "/api/tracking/conversions/conv-1", $"/api/tracking/conversions/{recordId}" })
        {
            var conversion = await tracked.Attribution.GetFromJsonAsync<JsonElement>(path, Cancel);
            Assert.Equal(("conv-1", recordId, "VENTA", 150000.0m, "COP"), (conversion.GetProperty("id").GetString(), conversion.GetProperty("record_id").GetGuid(),
                conversion.GetProperty("conversion_type").GetString(), conversion.GetProperty("value").GetProperty("amount").GetDecimal(),
                conversion.GetProperty("value").GetProperty("currency").GetString()));
        }

        var page = await tracked.Attribution.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-123/impressions?page=2&page_size=2", Cancel);
        Assert.Equal((3L, 2, 2, 1), (page.GetProperty("total").GetInt64(), page.GetProperty("page").GetInt32(), page.GetProperty("page_size").GetInt32(),
            page.GetProperty("items").GetArrayLength()));
        var byInfluencer = await tracked.Attribution.GetFromJsonAsync<JsonElement>($"/api/tracking/influencers/{influencer}/impressions", Cancel);
        Assert.Equal(3, byInfluencer.GetProperty("total").GetInt64());
        var conversions = await tracked.Attribution.GetFromJsonAsync<JsonElement>("/api/tracking/influencers/inf-001/conversions?page_size=1", Cancel);
        Assert.Equal((2L, 1), (conversions.GetProperty("total").GetInt64(), conversions.GetProperty("items").GetArrayLength()));
        Assert.Equal(2, (await tracked.Attribution.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/{campaign}/conversions", Cancel)).GetProperty("total").GetInt64());
        // An admin's token reads them too (the panel does).
        Assert.Equal(3, (await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-123/impressions", Cancel)).GetProperty("total").GetInt64());

        // Another workspace's key sees its own records under the same ids, and none of these.
        var theirs = await other.Attribution.GetFromJsonAsync<JsonElement>("/api/tracking/conversions/conv-1", Cancel);
        Assert.Equal(1.0m, theirs.GetProperty("value").GetProperty("amount").GetDecimal());
        foreach (var path in new[] { $"/api/tracking/conversions/{recordId}", $"/api/tracking/campaigns/{campaign}/impressions", $"/api/tracking/influencers/{influencer}/conversions",
                     $"/api/tracking/impressions/{impression.GetProperty("record_id").GetGuid()}" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await other.Attribution.GetAsync(path, Cancel)).StatusCode);
        }
        Assert.Equal(1, (await other.Attribution.GetFromJsonAsync<JsonElement>("/api/tracking/campaigns/cmp-123/impressions", Cancel)).GetProperty("total").GetInt64());
        // No key (or a wrong one): nothing.
        Assert.Equal(HttpStatusCode.Unauthorized, (await tracked.Public.GetAsync("/api/tracking/conversions/conv-1", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tracked.Public.GetAsync("/api/tracking/campaigns/cmp-123/impressions", Cancel)).StatusCode);
        using var forged = hosts.Tracking.CreateClient();
        forged.DefaultRequestHeaders.Add(TrackedWorkspace.AttributionKeyHeader, "atk_not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/tracking/impressions/imp-0", Cancel)).StatusCode);
    }

    [Fact]
    public async Task A_repeated_client_id_is_the_same_record_and_the_id_reused_for_another_sale_is_refused()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked, new { kind = "per_conversion_fixed", amount = 1000m });

        var first = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-9"));
        // A retry, and the same sale in our names: the same record.
        var retry = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-9"));
        var english = await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = "conv-9", campaign_id = campaign, influencer_id = influencer, user_id = "usr-101", conversion_type = "VENTA", value = 150000m, currency = "COP",
        });
        var bodies = new List<JsonElement>();
        foreach (var response in new[] { first, retry, english })
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            bodies.Add(await TrackedWorkspace.BodyAsync(response));
        }
        Assert.Equal([true, false, false], bodies.Select(b => b.GetProperty("recorded").GetBoolean()));
        Assert.Single(bodies.Select(b => b.GetProperty("record_id").GetGuid()).Distinct());

        var reused = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", SpanishConversion("conv-9", valor: 99000.0m));
        Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
        Assert.Contains("valor", (await TrackedWorkspace.BodyAsync(reused)).GetProperty("detail").GetString());
        var impressionTwice = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("imp-9", "IMPRESION"));
        var impressionAgain = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("imp-9", "impresión"));
        var impressionOther = await PostRawAsync(tracked.Attribution, "/api/tracking/impressions", SpanishImpression("imp-9", "CLICK"));
        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Conflict), (impressionTwice.StatusCode, impressionAgain.StatusCode, impressionOther.StatusCode));

        Assert.Equal(1, await CountAsync("conversions", tracked.Id));
        Assert.Equal(1, await CountAsync("impressions", tracked.Id));
        Assert.Equal(150000.0m, await hosts.Servers.ScalarAsync<decimal>("SELECT value_amount FROM tracking.conversions WHERE workspace_id = @Id", new { tracked.Id }));
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var commissions = await Eventually.Until(async () =>
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={campaign}&kind=conversion", Cancel);
            return page.GetProperty("total").GetInt64() >= 1 ? (JsonElement?)page : null;
        }, TimeSpan.FromSeconds(30), "the conversion's commission");
        Assert.Equal(1, commissions!.Value.GetProperty("total").GetInt64());

        // A refund names the conversion by either id too.
        var refund = await tracked.Attribution.PostAsync($"/api/tracking/conversions/{bodies[0].GetProperty("record_id").GetGuid()}/refund", null, Cancel);
        Assert.Equal(HttpStatusCode.OK, refund.StatusCode);
        Assert.Equal("conv-9", (await TrackedWorkspace.BodyAsync(refund)).GetProperty("id").GetString());
        Assert.Equal(1, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id AND id = 'conv-9' AND refunded_at IS NOT NULL", new { tracked.Id }));
    }

    [Fact]
    public async Task A_session_arriving_through_a_link_with_external_keys_is_attributed_and_commissioned_like_one_with_uuids()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencer) = await KeyedCampaignAsync(tracked, new { kind = "per_conversion_percent", percent = 10m });
        var (otherCampaign, _) = await KeyedCampaignAsync(other, campaignKey: "cmp-999");

        // What t.js sends for https://shop.example/?campaign_id=cmp-123&influencer_id=inf-001, and for the same link with our UUIDs.
        var byKey = TrackedWorkspace.NewVisitorId();
        var byUuid = TrackedWorkspace.NewVisitorId();
        var strange = TrackedWorkspace.NewVisitorId();
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(byKey, "s-key", new { campaign_id = "cmp-123", influencer_id = "inf-001" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(byUuid, "s-uuid", new { campaign_id = campaign, influencer_id = influencer })).StatusCode);
        // Another workspace's key names nothing here: the page view is kept, the session has no campaign (as with an unknown UUID).
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(strange, "s-other", new { campaign_id = "cmp-999", influencer_id = "inf-001" })).StatusCode);

        var sessions = await QueryAsync<(string Id, Guid? CampaignId, Guid? InfluencerId)>(
            "SELECT id, campaign_id, influencer_id FROM tracking.sessions WHERE workspace_id = @Id ORDER BY id", new { tracked.Id });
        Assert.Equal([("s-key", campaign, influencer), ("s-other", null, influencer), ("s-uuid", campaign, influencer)],
            sessions.Select(x => (x.Id, x.CampaignId, x.InfluencerId)).ToList());
        Assert.DoesNotContain(sessions, x => x.CampaignId == otherCampaign);

        // A sale by each visitor, attributed from the visitor's session, exactly as the client posts it.
        string FromSession(string id, string visitor) => $$"""
            {"id": "{{id}}", "workspace_id": "{{tracked.Id}}", "visitor_id": "{{visitor}}", "usuario_id": "usr-101",
             "tipo_conversion": "VENTA", "valor": 150000.0, "moneda": "COP", "timestamp": "{{DateTimeOffset.UtcNow:O}}"}
            """;
        var keyed = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", FromSession("conv-key", byKey));
        var uuid = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", FromSession("conv-uuid", byUuid));
        var none = await PostRawAsync(tracked.Attribution, "/api/tracking/conversions", FromSession("conv-other", strange));
        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.BadRequest), (keyed.StatusCode, uuid.StatusCode, none.StatusCode));
        foreach (var body in new[] { await TrackedWorkspace.BodyAsync(keyed), await TrackedWorkspace.BodyAsync(uuid) })
        {
            Assert.Equal((campaign, influencer), (body.GetProperty("campaign_id").GetGuid(), body.GetProperty("influencer_id").GetGuid()));
        }

        // The worker's list filtered by the key is the list filtered by the UUID (once both payouts are scheduled, so nothing moves between the reads).
        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        async Task<List<string>> ListAsync(string filter)
        {
            var page = await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={filter}", Cancel);
            return page.GetProperty("items").EnumerateArray().Select(i => i.GetRawText()).Order(StringComparer.Ordinal).ToList();
        }
        var byCampaignUuid = await Eventually.Until(async () =>
        {
            var items = await ListAsync(campaign.ToString());
            return items.Count == 2 && items.All(i => i.Contains("\"state\":\"scheduled\"")) ? items : null;
        }, TimeSpan.FromSeconds(30), "both sales' commissions, their payouts scheduled");
        var byCampaignKey = await ListAsync("cmp-123");
        Assert.Equal(byCampaignUuid, byCampaignKey);
        var items = byCampaignKey.Select(i => JsonDocument.Parse(i).RootElement).ToList();
        Assert.Equal(["conv-key", "conv-uuid"], items.Select(i => i.GetProperty("conversion_id").GetString()).Order());
        Assert.All(items, i => Assert.Equal((influencer, 15000m), (i.GetProperty("influencer_id").GetGuid(), i.GetProperty("amount").GetProperty("amount").GetDecimal())));

        // Another workspace's key, a key nobody has, and our key asked by another workspace: nothing.
        foreach (var (client, key) in new[] { (worker, "cmp-999"), (worker, "cmp-404") })
        {
            Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>($"/api/messaging/commissions?campaign_id={key}", Cancel)).GetProperty("total").GetInt64());
        }
        using var otherWorker = hosts.Worker.CreateAdminClient(other.Id);
        Assert.Equal(0, (await otherWorker.GetFromJsonAsync<JsonElement>("/api/messaging/commissions?campaign_id=cmp-123", Cancel)).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task A_link_parameter_or_filter_that_is_neither_a_uuid_nor_a_key_is_refused_by_name_and_writes_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        foreach (var (field, session) in new (string, object)[]
        {
            ("session.campaign_id", new { campaign_id = "has space" }),
            ("session.influencer_id", new { influencer_id = "-leading" }),
            ("session.campaign_id", new { campaign_id = new string('k', 65) }),
        })
        {
            var refused = await tracked.PageViewAsync(TrackedWorkspace.NewVisitorId(), "s-bad", session);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await TrackedWorkspace.BodyAsync(refused)).GetProperty("errors").TryGetProperty(field, out _), field);
        }
        Assert.Equal(0, await CountAsync("sessions", tracked.Id));
        Assert.Equal(0, await CountAsync("events", tracked.Id));

        using var worker = hosts.Worker.CreateAdminClient(tracked.Id);
        var filter = await worker.GetAsync("/api/messaging/commissions?campaign_id=has%20space", Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, filter.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(filter)).GetProperty("errors").TryGetProperty("campaign_id", out _));
    }
}
