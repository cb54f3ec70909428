using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Settings;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Campaigns;

/// <summary>
/// The reads attribution clients make: one impression or conversion by the client's id or ours
/// (record_id), and a campaign's or influencer's (by UUID or external key), newest first, paged.
/// Authenticated like refunds: the workspace's attribution key, or an admin's bearer token. A key is
/// needed even where attribution_key_required is off: without one, nothing says whose records to show.
/// Answers use our (English) field names.
/// </summary>
public static class AttributionReadsApi
{
    public static void MapAttributionReadsApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        var rate = new RateLimit("tracking-attribution-reads", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp);
        var api = app.MapGroup("/api/tracking").WithTags("Attribution").RequireRateLimit(rate);
        api.MapGet("/impressions/{id}", GetImpression).WithName("GetImpression").WithSummary("One impression or click, by the client's id or record_id");
        api.MapGet("/conversions/{id}", GetConversion).WithName("GetConversion").WithSummary("One conversion, by the client's id or record_id");
        api.MapGet("/campaigns/{id}/impressions", (string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db,
                int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct) =>
            ImpressionsAsync(http, user, authorization, db, Of.Campaign, id, Paging.From(page, pageSize), ct))
            .WithName("CampaignImpressions").WithSummary("Newest first, paged");
        api.MapGet("/campaigns/{id}/conversions", (string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db,
                int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct) =>
            ConversionsAsync(http, user, authorization, db, Of.Campaign, id, Paging.From(page, pageSize), ct))
            .WithName("CampaignConversions").WithSummary("Newest first, paged");
        api.MapGet("/influencers/{id}/impressions", (string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db,
                int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct) =>
            ImpressionsAsync(http, user, authorization, db, Of.Influencer, id, Paging.From(page, pageSize), ct))
            .WithName("InfluencerImpressions").WithSummary("Newest first, paged");
        api.MapGet("/influencers/{id}/conversions", (string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db,
                int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct) =>
            ConversionsAsync(http, user, authorization, db, Of.Influencer, id, Paging.From(page, pageSize), ct))
            .WithName("InfluencerConversions").WithSummary("Newest first, paged");
    }

    public sealed record Impression(
        string Id, Guid RecordId, Guid CampaignId, string? CampaignExternalKey, Guid InfluencerId, string? InfluencerExternalKey, string EventType,
        string? UserId, string? UserAgent, string? IpAddress, string? Referrer, DateTime OccurredAt);

    public sealed record Conversion(
        string Id, Guid RecordId, Guid CampaignId, string? CampaignExternalKey, Guid InfluencerId, string? InfluencerExternalKey, string? VisitorId,
        string? UserId, string ConversionType, Money Value, string AttributedBy, DateTime OccurredAt, DateTime? RefundedAt);

    private enum Of { Campaign, Influencer }

    public static async Task<IResult> GetImpression(
        string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var (workspace, denied) = await ReaderAsync(http, user, authorization, connection);
        if (denied is not null) return denied;
        var row = await connection.QuerySingleOrDefaultAsync<Impression>(
            $"{ImpressionSelect} WHERE i.workspace_id = @workspace AND (i.id = @id OR i.record_id = @recordId) ORDER BY i.id = @id DESC LIMIT 1",
            new { workspace, id, recordId = RecordIdOf(id) });
        return row is null ? NotFound("impression", id) : TypedResults.Ok(row);
    }

    public static async Task<IResult> GetConversion(
        string id, HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var (workspace, denied) = await ReaderAsync(http, user, authorization, connection);
        if (denied is not null) return denied;
        var row = await connection.QuerySingleOrDefaultAsync<ConversionRow>(
            $"{ConversionSelect} WHERE v.workspace_id = @workspace AND (v.id = @id OR v.record_id = @recordId) ORDER BY v.id = @id DESC LIMIT 1",
            new { workspace, id, recordId = RecordIdOf(id) });
        return row is null ? NotFound("conversion", id) : TypedResults.Ok(row.ToConversion());
    }

    private static Task<IResult> ImpressionsAsync(
        HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db, Of of, string reference, Paging paging, CancellationToken ct) =>
        ListAsync<Impression, Impression>(http, user, authorization, db, of, reference, paging, ImpressionSelect, "i", "tracking.impressions", r => r, ct);

    private static Task<IResult> ConversionsAsync(
        HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db, Of of, string reference, Paging paging, CancellationToken ct) =>
        ListAsync<ConversionRow, Conversion>(http, user, authorization, db, of, reference, paging, ConversionSelect, "v", "tracking.conversions", r => r.ToConversion(), ct);

    /// <summary>A campaign's or influencer's records (select aliased <paramref name="alias"/> over <paramref name="table"/>), newest first, paged.</summary>
    private static async Task<IResult> ListAsync<TRow, T>(
        HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlDataSource db, Of of, string reference, Paging paging,
        string select, string alias, string table, Func<TRow, T> map, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var (owner, problem) = await OwnerAsync(http, user, authorization, connection, of, reference);
        if (problem is not null) return problem;
        var column = of == Of.Campaign ? "campaign_id" : "influencer_id";
        var rows = await connection.QueryAsync<TRow>(
            $"{select} WHERE {alias}.workspace_id = @workspace AND {alias}.{column} = @id ORDER BY {alias}.occurred_at DESC, {alias}.id LIMIT @Limit OFFSET @Offset",
            new { workspace = owner.Workspace, id = owner.Id, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>(
            $"SELECT count(*) FROM {table} WHERE workspace_id = @workspace AND {column} = @id", new { workspace = owner.Workspace, id = owner.Id });
        return TypedResults.Ok(paging.Of(rows.Select(map).ToList(), total));
    }

    private sealed record Owner(Guid Workspace, Guid Id);

    /// <summary>The reader's workspace and the campaign or influencer of it that the reference names; another workspace's is not found.</summary>
    private static async Task<(Owner Owner, IResult? Problem)> OwnerAsync(
        HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlConnection connection, Of of, string reference)
    {
        var (workspace, denied) = await ReaderAsync(http, user, authorization, connection);
        if (denied is not null) return (default!, denied);
        var id = of == Of.Campaign
            ? await ExternalKeys.CampaignInAsync(connection, workspace, reference)
            : await ExternalKeys.InfluencerInAsync(connection, workspace, reference);
        return id is { } found ? (new Owner(workspace, found), null) : (default!, NotFound(of == Of.Campaign ? "campaign" : "influencer", reference));
    }

    /// <summary>The workspace whose records the caller may read: the attribution key's, or the admin token's.</summary>
    private static async Task<(Guid Workspace, IResult? Problem)> ReaderAsync(
        HttpContext http, ClaimsPrincipal user, IAuthorizationService authorization, NpgsqlConnection connection)
    {
        if (AttributionKeys.Sent(http.Request))
        {
            return await AttributionKeys.OwnerAsync(connection, http.Request.Headers[AttributionKeys.Header].ToString()) is { } owner
                ? (owner, null)
                : (default, AttributionKeys.Unauthorized("This attribution key is not valid (it may have been rotated)."));
        }
        if (user.Identity?.IsAuthenticated == true && (await authorization.AuthorizeAsync(user, AuthenticationExtensions.AdminPolicy)).Succeeded)
        {
            return (user.WorkspaceIdOf(), null);
        }
        return (default, AttributionKeys.Unauthorized($"Reading impressions and conversions needs the workspace's attribution key ({AttributionKeys.Header}) or an admin's bearer token."));
    }

    private static Guid? RecordIdOf(string id) => Guid.TryParse(id, out var recordId) ? recordId : null;

    private static IResult NotFound(string what, string id) => TypedResults.Problem(
        $"No {what} '{id}' in this workspace (by the client's id{(what is "impression" or "conversion" ? " or record_id" : ", UUID or external key")}).",
        title: "Not found", statusCode: StatusCodes.Status404NotFound);

    private const string ImpressionSelect = """
        SELECT i.id, i.record_id, i.campaign_id, c.external_key AS campaign_external_key, i.influencer_id, n.external_key AS influencer_external_key,
               i.event_type, i.user_id, i.user_agent, i.ip_address, i.referrer, i.occurred_at
        FROM tracking.impressions i JOIN tracking.campaigns c ON c.id = i.campaign_id JOIN tracking.influencers n ON n.id = i.influencer_id
        """;

    private const string ConversionSelect = """
        SELECT v.id, v.record_id, v.campaign_id, c.external_key AS campaign_external_key, v.influencer_id, n.external_key AS influencer_external_key,
               v.visitor_id, v.user_id, v.conversion_type, v.value_amount, v.currency, v.attributed_by, v.occurred_at, v.refunded_at
        FROM tracking.conversions v JOIN tracking.campaigns c ON c.id = v.campaign_id JOIN tracking.influencers n ON n.id = v.influencer_id
        """;

    private sealed record ConversionRow(
        string Id, Guid RecordId, Guid CampaignId, string? CampaignExternalKey, Guid InfluencerId, string? InfluencerExternalKey, string? VisitorId,
        string? UserId, string ConversionType, decimal ValueAmount, string Currency, string AttributedBy, DateTime OccurredAt, DateTime? RefundedAt)
    {
        public Conversion ToConversion() => new(Id, RecordId, CampaignId, CampaignExternalKey, InfluencerId, InfluencerExternalKey, VisitorId, UserId,
            ConversionType, new Money(ValueAmount, Currency), AttributedBy, OccurredAt, RefundedAt);
    }
}
