using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Campaigns;

/// <summary>Statistics from the read model, and the raw conversions, per campaign and per influencer.</summary>
public static class CampaignStatsApi
{
    private static readonly Guid Totals = Guid.Empty;

    public static void MapCampaignStatsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tracking").WithTags("Campaign statistics").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        // {id}: the UUID or the external key. The raw impressions and conversions are AttributionReadsApi's (attribution key or admin token).
        api.MapGet("/campaigns/{id}/stats", CampaignStats).WithName("CampaignStats")
            .WithSummary("The campaign's totals and one row per influencer (paged)");
        api.MapGet("/influencers/{id}/stats", InfluencerStats).WithName("InfluencerStats").WithSummary("One row per campaign of the influencer, paged");
    }

    /// <summary>
    /// Each rate is named for what it divides (a conversion needs no click, so conversions per click
    /// may exceed 1): conversions_per_click and conversions_per_impression, 4 decimals, null without clicks or impressions.
    /// </summary>
    public sealed record Stats(
        Guid CampaignId, Guid? InfluencerId, long Impressions, long Clicks, long Conversions, long Refunds, decimal? ConversionsPerClick,
        decimal? ConversionsPerImpression, Money Revenue, Money CommissionOwed);

    public sealed record CampaignStatsView(Stats Totals, PagedList<Stats> Influencers);

    public static async Task<Results<Ok<CampaignStatsView>, NotFound>> CampaignStats(
        [FromRoute(Name = "id")] string reference, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.CampaignInAsync(connection, user.WorkspaceIdOf(), reference) is not { } id) return TypedResults.NotFound();
        var currency = await connection.QuerySingleAsync<string>("SELECT currency FROM tracking.campaigns WHERE id = @id", new { id });
        var totals = await connection.QuerySingleOrDefaultAsync<StatsRow>($"{StatsRow.Select} WHERE campaign_id = @id AND influencer_id = @Totals", new { id, Totals });
        var rows = await connection.QueryAsync<StatsRow>(
            $"{StatsRow.Select} WHERE campaign_id = @id AND influencer_id <> @Totals ORDER BY revenue_amount DESC, influencer_id LIMIT @Limit OFFSET @Offset",
            new { id, Totals, paging.Limit, paging.Offset });
        var count = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM tracking.campaign_stats WHERE campaign_id = @id AND influencer_id <> @Totals", new { id, Totals });
        var view = new CampaignStatsView(
            totals?.ToStats(null) ?? new Stats(id, null, 0, 0, 0, 0, null, null, Money.Zero(currency), Money.Zero(currency)),
            paging.Of(rows.Select(r => r.ToStats(r.InfluencerId)).ToList(), count));
        return TypedResults.Ok(view);
    }

    public static async Task<Results<Ok<PagedList<Stats>>, NotFound>> InfluencerStats(
        [FromRoute(Name = "id")] string reference, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ExternalKeys.InfluencerInAsync(connection, user.WorkspaceIdOf(), reference) is not { } id) return TypedResults.NotFound();
        var rows = await connection.QueryAsync<StatsRow>(
            $"{StatsRow.Select} WHERE influencer_id = @id ORDER BY updated_at DESC, campaign_id LIMIT @Limit OFFSET @Offset", new { id, paging.Limit, paging.Offset });
        var count = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.campaign_stats WHERE influencer_id = @id", new { id });
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToStats(r.InfluencerId)).ToList(), count));
    }

    private sealed record StatsRow(
        Guid CampaignId, Guid InfluencerId, long Impressions, long Clicks, long Conversions, long Refunds, decimal RevenueAmount, decimal CommissionAmount,
        string Currency, DateTime UpdatedAt)
    {
        public const string Select = """
            SELECT campaign_id, influencer_id, impressions, clicks, conversions, refunds, revenue_amount, commission_amount, currency, updated_at
            FROM tracking.campaign_stats
            """;

        public Stats ToStats(Guid? influencer)
        {
            return new Stats(CampaignId, influencer, Impressions, Clicks, Conversions, Refunds, Per(Clicks), Per(Impressions),
                new Money(RevenueAmount, Currency), new Money(CommissionAmount, Currency));
        }

        private decimal? Per(long basis) => basis == 0 ? null : Math.Round((decimal)Conversions / basis, 4);
    }
}
