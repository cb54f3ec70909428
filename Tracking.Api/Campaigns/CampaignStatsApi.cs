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
        api.MapGet("/campaigns/{id:guid}/stats", CampaignStats).WithName("CampaignStats")
            .WithSummary("The campaign's totals and one row per influencer (paged)");
        api.MapGet("/campaigns/{id:guid}/conversions", CampaignConversions).WithName("CampaignConversions").WithSummary("Newest first, paged");
        api.MapGet("/influencers/{id:guid}/stats", InfluencerStats).WithName("InfluencerStats").WithSummary("One row per campaign of the influencer, paged");
        api.MapGet("/influencers/{id:guid}/conversions", InfluencerConversions).WithName("InfluencerConversions").WithSummary("Newest first, paged");
    }

    /// <summary>conversion_rate: conversions per click, or per impression when there were no clicks.</summary>
    public sealed record Stats(
        Guid CampaignId, Guid? InfluencerId, long Impressions, long Clicks, long Conversions, long Refunds, decimal ConversionRate,
        Money Revenue, Money CommissionOwed);

    public sealed record CampaignStatsView(Stats Totals, PagedList<Stats> Influencers);

    public sealed record Conversion(
        string Id, Guid CampaignId, Guid InfluencerId, string? VisitorId, string? UserId, string ConversionType, Money Value,
        string AttributedBy, DateTime OccurredAt, DateTime? RefundedAt);

    public static async Task<Results<Ok<CampaignStatsView>, NotFound>> CampaignStats(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var currency = await CampaignCurrencyAsync(connection, id, user.WorkspaceIdOf());
        if (currency is null) return TypedResults.NotFound();
        var totals = await connection.QuerySingleOrDefaultAsync<StatsRow>($"{StatsRow.Select} WHERE campaign_id = @id AND influencer_id = @Totals", new { id, Totals });
        var rows = await connection.QueryAsync<StatsRow>(
            $"{StatsRow.Select} WHERE campaign_id = @id AND influencer_id <> @Totals ORDER BY revenue_amount DESC, influencer_id LIMIT @Limit OFFSET @Offset",
            new { id, Totals, paging.Limit, paging.Offset });
        var count = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM tracking.campaign_stats WHERE campaign_id = @id AND influencer_id <> @Totals", new { id, Totals });
        var view = new CampaignStatsView(
            totals?.ToStats(null) ?? new Stats(id, null, 0, 0, 0, 0, 0, Money.Zero(currency), Money.Zero(currency)),
            paging.Of(rows.Select(r => r.ToStats(r.InfluencerId)).ToList(), count));
        return TypedResults.Ok(view);
    }

    public static async Task<Results<Ok<PagedList<Stats>>, NotFound>> InfluencerStats(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (!await InfluencerExistsAsync(connection, id, workspace)) return TypedResults.NotFound();
        var rows = await connection.QueryAsync<StatsRow>(
            $"{StatsRow.Select} WHERE influencer_id = @id ORDER BY updated_at DESC, campaign_id LIMIT @Limit OFFSET @Offset", new { id, paging.Limit, paging.Offset });
        var count = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.campaign_stats WHERE influencer_id = @id", new { id });
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToStats(r.InfluencerId)).ToList(), count));
    }

    public static async Task<Results<Ok<PagedList<Conversion>>, NotFound>> CampaignConversions(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await CampaignCurrencyAsync(connection, id, workspace) is null) return TypedResults.NotFound();
        return TypedResults.Ok(await ConversionsAsync(connection, "campaign_id", id, workspace, Paging.From(page, pageSize)));
    }

    public static async Task<Results<Ok<PagedList<Conversion>>, NotFound>> InfluencerConversions(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (!await InfluencerExistsAsync(connection, id, workspace)) return TypedResults.NotFound();
        return TypedResults.Ok(await ConversionsAsync(connection, "influencer_id", id, workspace, Paging.From(page, pageSize)));
    }

    private static async Task<PagedList<Conversion>> ConversionsAsync(NpgsqlConnection connection, string column, Guid id, Guid workspace, Paging paging)
    {
        var rows = await connection.QueryAsync<ConversionRow>($"""
            SELECT id, campaign_id, influencer_id, visitor_id, user_id, conversion_type, value_amount, currency, attributed_by, occurred_at, refunded_at
            FROM tracking.conversions WHERE workspace_id = @workspace AND {column} = @id ORDER BY occurred_at DESC, id LIMIT @Limit OFFSET @Offset
            """, new { workspace, id, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>(
            $"SELECT count(*) FROM tracking.conversions WHERE workspace_id = @workspace AND {column} = @id", new { workspace, id });
        return paging.Of(rows.Select(r => new Conversion(r.Id, r.CampaignId, r.InfluencerId, r.VisitorId, r.UserId, r.ConversionType,
            new Money(r.ValueAmount, r.Currency), r.AttributedBy, r.OccurredAt, r.RefundedAt)).ToList(), total);
    }

    private static Task<string?> CampaignCurrencyAsync(NpgsqlConnection connection, Guid id, Guid workspace) =>
        connection.QuerySingleOrDefaultAsync<string?>("SELECT currency FROM tracking.campaigns WHERE id = @id AND workspace_id = @workspace", new { id, workspace });

    private static Task<bool> InfluencerExistsAsync(NpgsqlConnection connection, Guid id, Guid workspace) =>
        connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM tracking.influencers WHERE id = @id AND workspace_id = @workspace)", new { id, workspace });

    private sealed record ConversionRow(
        string Id, Guid CampaignId, Guid InfluencerId, string? VisitorId, string? UserId, string ConversionType, decimal ValueAmount, string Currency,
        string AttributedBy, DateTime OccurredAt, DateTime? RefundedAt);

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
            var basis = Clicks > 0 ? Clicks : Impressions;
            var rate = basis == 0 ? 0m : Math.Round((decimal)Conversions / basis, 4);
            return new Stats(CampaignId, influencer, Impressions, Clicks, Conversions, Refunds, rate, new Money(RevenueAmount, Currency), new Money(CommissionAmount, Currency));
        }
    }
}
