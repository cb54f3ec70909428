using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Settings;
using Funnels.Tracking.Web;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Campaigns;

public sealed record AttributionOutcome(string Id, bool Recorded, Guid CampaignId, Guid InfluencerId, string? AttributedBy = null);

/// <summary>
/// Impressions and conversions as attribution clients post them, authenticated by the workspace's
/// attribution key (AttributionKeys). Ids are the client's: the same id twice records once (the
/// second answer says recorded: false). A conversion without a campaign is attributed to the
/// campaign and influencer of the visitor's latest session that has them.
/// </summary>
public static class AttributionApi
{
    private const int MaxBodyBytes = 16 * 1024;

    public static void MapAttributionApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        var rate = new RateLimit("tracking-attribution", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp);
        app.MapPost("/api/tracking/impressions", PostImpression).WithTags("Attribution").WithName("PostImpression")
            .WithSummary("Record an impression or click of an influencer's campaign link").Accepts<JsonElement>("application/json")
            .Produces<AttributionOutcome>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireCors(TrackingLimits.CorsPolicy).RequireRateLimit(rate);
        app.MapPost("/api/tracking/conversions", PostConversion).WithTags("Attribution").WithName("PostConversion")
            .WithSummary("Record a conversion with its value; attributed from the visitor's session when not given").Accepts<JsonElement>("application/json")
            .Produces<AttributionOutcome>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireCors(TrackingLimits.CorsPolicy).RequireRateLimit(rate);
        // An editor's bearer token or the attribution key: checked in the endpoint, which accepts either.
        app.MapPost("/api/tracking/conversions/{id}/refund", Refund).WithTags("Attribution").WithName("RefundConversion")
            .WithSummary("Mark a conversion refunded: its commission is cancelled, or reversed if already paid")
            .Produces<AttributionOutcome>().ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    public static async Task<IResult> PostImpression(
        HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, [FromServices] TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        var errors = new Dictionary<string, string[]>();
        var f = new FieldReader(root, "", errors);
        var id = f.Id("id", required: true);
        var campaignId = f.Guid("campaign_id", required: true);
        var influencerId = f.Guid("influencer_id", required: true);
        var eventType = f.Text("event_type", maxLength: 32)?.ToLowerInvariant() ?? "impression";
        if (eventType is not ("impression" or "click")) f.Fail("event_type", "must be impression or click");
        var userId = f.Text("user_id", maxLength: 128);
        var userAgent = f.Text("user_agent", maxLength: 512);
        var ip = f.Text("ip_address", maxLength: 64);
        var referrer = f.Text("referrer", maxLength: 2048);
        // Recorded by our clock: what is paid depends on it (a click after the campaign's end is not), not on the client's timestamp.
        var recordedAt = clock.GetUtcNow();
        var at = f.Timestamp("timestamp") ?? recordedAt.UtcDateTime;
        if (errors.Count > 0) return JsonBody.Invalid(errors);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await AuthorizeAsync(http.Request, connection, campaignId, null) is { } denied) return denied;
        }

        var target = await TargetAsync(dataSource, campaignId!.Value, influencerId!.Value, cancellationToken);
        if (target.Problem is not null) return target.Problem;
        var campaign = target.Campaign!;
        CommissionTerms? terms;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            terms = await TrafficTermsAsync(connection, campaign, influencerId.Value, eventType);
        }

        var recorded = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var inserted = await transaction.Connection!.ExecuteAsync("""
                INSERT INTO tracking.impressions (workspace_id, id, campaign_id, influencer_id, event_type, user_id, user_agent, ip_address, referrer, occurred_at)
                VALUES (@WorkspaceId, @id, @campaignId, @influencerId, @eventType, @userId, @userAgent, @ip, @referrer, @at)
                ON CONFLICT (workspace_id, id) DO NOTHING
                """, new { campaign.WorkspaceId, id, campaignId, influencerId, eventType, userId, userAgent, ip, referrer, at }, transaction);
            if (inserted == 1)
            {
                await messages.PublishAsync(new ImpressionRecorded(campaign.WorkspaceId, id!, campaignId.Value, influencerId.Value, eventType, campaign.Currency));
                if (terms is { } paid)
                {
                    await messages.PublishAsync(new CampaignTrafficRecorded(campaign.WorkspaceId, id!, campaignId.Value, influencerId.Value, eventType,
                        new Money(campaign.BudgetAmount, campaign.Currency), paid, new DateTimeOffset(at),
                        campaign.EndsAt is { } end ? new DateTimeOffset(end) : null, TimeSpan.FromSeconds(campaign.RefundWindowSeconds), recordedAt));
                }
            }
            return inserted == 1;
        }, cancellationToken);
        return TypedResults.Accepted((string?)null, new AttributionOutcome(id!, recorded, campaignId.Value, influencerId.Value));
    }

    public static async Task<IResult> PostConversion(
        HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, CancellationToken cancellationToken)
    {
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null) return problem;
        var errors = new Dictionary<string, string[]>();
        var f = new FieldReader(root, "", errors);
        var id = f.Id("id", required: true);
        var campaignId = f.Guid("campaign_id");
        var influencerId = f.Guid("influencer_id");
        var workspaceId = f.Guid("workspace_id");
        var userId = f.Text("user_id", maxLength: 128);
        var visitorId = f.Id("visitor_id") ?? (userId is not null && Ids.IsValid(userId) ? userId : null);
        var conversionType = f.Text("conversion_type", required: true, maxLength: 64);
        var value = f.Decimal("value", required: true);
        if (value < 0) f.Fail("value", "must not be negative");
        var currency = f.Currency("currency", required: true);
        var at = f.Timestamp("timestamp") ?? DateTime.UtcNow;
        if ((campaignId is null) != (influencerId is null) && errors.Count == 0)
        {
            f.Fail(campaignId is null ? "campaign_id" : "influencer_id", "campaign_id and influencer_id are given together, or both left out to attribute from the visitor's session");
        }
        if (campaignId is null && errors.Count == 0)
        {
            if (workspaceId is null) f.Fail("workspace_id", "is required to attribute a conversion from the visitor's session");
            if (visitorId is null) f.Fail("visitor_id", "is required (or user_id) to attribute a conversion from the visitor's session");
        }
        if (errors.Count > 0) return JsonBody.Invalid(errors);

        // Reads first, on a connection returned before the write opens its own.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await AuthorizeAsync(http.Request, connection, campaignId, workspaceId) is { } denied) return denied;
        var attributedBy = "request";
        if (campaignId is null)
        {
            var session = await connection.QuerySingleOrDefaultAsync<SessionCampaign>("""
                SELECT campaign_id, influencer_id FROM tracking.sessions
                WHERE workspace_id = @workspaceId AND visitor_id = @visitorId AND campaign_id IS NOT NULL AND influencer_id IS NOT NULL
                ORDER BY started_at DESC LIMIT 1
                """, new { workspaceId, visitorId });
            if (session is null)
            {
                return JsonBody.Invalid(new() { ["campaign_id"] = ["is required: no session of this visitor arrived through a campaign link"] });
            }
            (campaignId, influencerId, attributedBy) = (session.CampaignId, session.InfluencerId, "session");
        }
        var target = await TargetAsync(dataSource, campaignId!.Value, influencerId!.Value, cancellationToken);
        if (target.Problem is not null) return target.Problem;
        var campaign = target.Campaign!;
        if (workspaceId is { } w && w != campaign.WorkspaceId) return JsonBody.Invalid(new() { ["campaign_id"] = ["does not belong to workspace_id"] });
        if (currency != campaign.Currency)
        {
            // One campaign's sums are in one currency: adding COP to USD would be a silent wrong sum.
            return JsonBody.Invalid(new() { ["currency"] = [$"must be the campaign's currency, {campaign.Currency}"] });
        }

        var terms = await TermsAsync(connection, campaign, influencerId.Value);
        await connection.DisposeAsync();
        var money = new Money(value!.Value, currency!);
        var recorded = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var inserted = await transaction.Connection!.ExecuteAsync("""
                INSERT INTO tracking.conversions (workspace_id, id, campaign_id, influencer_id, visitor_id, user_id, conversion_type, value_amount, currency, attributed_by, occurred_at)
                VALUES (@WorkspaceId, @id, @campaignId, @influencerId, @visitorId, @userId, @conversionType, @amount, @currency, @attributedBy, @at)
                ON CONFLICT (workspace_id, id) DO NOTHING
                """, new { campaign.WorkspaceId, id, campaignId, influencerId, visitorId, userId, conversionType, amount = money.Amount, currency, attributedBy, at }, transaction);
            if (inserted == 1)
            {
                await messages.PublishAsync(new ConversionRecorded(campaign.WorkspaceId, id!, campaignId.Value, influencerId.Value, conversionType!, money,
                    new Money(campaign.BudgetAmount, campaign.Currency), TimeSpan.FromSeconds(campaign.RefundWindowSeconds), terms, new DateTimeOffset(at)));
            }
            return inserted == 1;
        }, cancellationToken);
        return TypedResults.Accepted((string?)null, new AttributionOutcome(id!, recorded, campaignId.Value, influencerId.Value, attributedBy));
    }

    public static async Task<IResult> Refund(
        string id, HttpContext http, ClaimsPrincipal user, [FromServices] IAuthorizationService authorization, [FromServices] NpgsqlDataSource dataSource,
        [FromServices] IMessageContext messages, CancellationToken cancellationToken)
    {
        Guid workspace;
        if (AttributionKeys.Sent(http.Request))
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            if (await AttributionKeys.OwnerAsync(connection, http.Request.Headers[AttributionKeys.Header].ToString()) is not { } owner)
            {
                return AttributionKeys.Unauthorized("This attribution key is not valid (it may have been rotated).");
            }
            workspace = owner;
        }
        else if (user.Identity?.IsAuthenticated != true)
        {
            return AttributionKeys.Unauthorized($"A refund needs an editor's bearer token or the workspace's attribution key ({AttributionKeys.Header}).");
        }
        else if (!(await authorization.AuthorizeAsync(user, AuthenticationExtensions.EditorPolicy)).Succeeded)
        {
            return TypedResults.Problem("Refunds need the owner or editor role.", title: "Forbidden", statusCode: StatusCodes.Status403Forbidden);
        }
        else
        {
            workspace = user.WorkspaceIdOf();
        }
        var outcome = await messages.InOutboxTransactionAsync<AttributionOutcome?>(dataSource, async transaction =>
        {
            var row = await transaction.Connection!.QuerySingleOrDefaultAsync<ConversionState>("""
                SELECT campaign_id, influencer_id, refunded_at IS NOT NULL AS refunded FROM tracking.conversions WHERE workspace_id = @workspace AND id = @id FOR UPDATE
                """, new { workspace, id }, transaction);
            if (row is not { } conversion) return null;
            if (!conversion.Refunded)
            {
                var now = DateTime.UtcNow;
                await transaction.Connection!.ExecuteAsync(
                    "UPDATE tracking.conversions SET refunded_at = @now WHERE workspace_id = @workspace AND id = @id", new { workspace, id, now }, transaction);
                await messages.PublishAsync(new ConversionRefunded(workspace, id, conversion.CampaignId, new DateTimeOffset(now)));
            }
            return new AttributionOutcome(id, !conversion.Refunded, conversion.CampaignId, conversion.InfluencerId);
        }, cancellationToken);
        return outcome is null ? TypedResults.NotFound() : TypedResults.Ok(outcome);
    }

    /// <summary>Whether the caller may record for the campaign's workspace (else the workspace_id given): see AttributionKeys.</summary>
    private static async Task<IResult?> AuthorizeAsync(HttpRequest request, NpgsqlConnection connection, Guid? campaignId, Guid? workspaceId)
    {
        var workspace = campaignId is { } campaign
            ? await connection.QuerySingleOrDefaultAsync<Guid?>("SELECT workspace_id FROM tracking.campaigns WHERE id = @campaign", new { campaign })
            : workspaceId;
        return await AttributionKeys.AuthorizeAsync(request, connection, workspace);
    }

    private sealed record SessionCampaign(Guid CampaignId, Guid InfluencerId);

    private sealed record ConversionState(Guid CampaignId, Guid InfluencerId, bool Refunded);

    private sealed record RuleRow(Guid Id, string Kind, decimal? Amount, decimal? Percent);

    internal sealed record CampaignTarget(Guid Id, Guid WorkspaceId, decimal BudgetAmount, string Currency, int RefundWindowSeconds, string Status, DateTime? EndsAt);

    private static async Task<(CampaignTarget? Campaign, IResult? Problem)> TargetAsync(
        NpgsqlDataSource dataSource, Guid campaignId, Guid influencerId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var campaign = await connection.QuerySingleOrDefaultAsync<CampaignTarget>(
            "SELECT id, workspace_id, budget_amount, currency, refund_window_seconds, status, ends_at FROM tracking.campaigns WHERE id = @campaignId", new { campaignId });
        if (campaign is null)
        {
            return (null, JsonBody.Invalid(new() { ["campaign_id"] = ["is not a known campaign"] }));
        }
        if (!await connection.ExecuteScalarAsync<bool>(
                "SELECT EXISTS (SELECT 1 FROM tracking.influencers WHERE id = @influencerId AND workspace_id = @WorkspaceId)", new { influencerId, campaign.WorkspaceId }))
        {
            return (null, JsonBody.Invalid(new() { ["influencer_id"] = ["is not an influencer of the campaign's workspace"] }));
        }
        return (campaign, null);
    }

    /// <summary>The rule that pays an impression (per_mille_impressions) or a click (per_click): the influencer's own before the campaign's.</summary>
    private static async Task<CommissionTerms?> TrafficTermsAsync(NpgsqlConnection connection, CampaignTarget campaign, Guid influencerId, string eventType)
    {
        var kind = eventType == "click" ? "per_click" : "per_mille_impressions";
        var rule = await connection.QuerySingleOrDefaultAsync<RuleRow>("""
            SELECT id, kind, amount, percent FROM tracking.commission_rules
            WHERE campaign_id = @Id AND (influencer_id = @influencerId OR influencer_id IS NULL) AND kind = @kind AND amount IS NOT NULL
            ORDER BY influencer_id IS NULL, id LIMIT 1
            """, new { campaign.Id, influencerId, kind });
        return rule is { Amount: { } a } r ? new CommissionTerms(r.Id, r.Kind, new Money(a, campaign.Currency), null) : null;
    }

    /// <summary>The conversion rule that applies: the influencer's own before the campaign's, a fixed amount before a percentage.</summary>
    private static async Task<CommissionTerms?> TermsAsync(NpgsqlConnection connection, CampaignTarget campaign, Guid influencerId)
    {
        var rule = await connection.QuerySingleOrDefaultAsync<RuleRow>("""
            SELECT id, kind, amount, percent FROM tracking.commission_rules
            WHERE campaign_id = @Id AND (influencer_id = @influencerId OR influencer_id IS NULL) AND kind IN ('per_conversion_fixed', 'per_conversion_percent')
            ORDER BY influencer_id IS NULL, kind = 'per_conversion_percent' LIMIT 1
            """, new { campaign.Id, influencerId });
        return rule is { } r
            ? new CommissionTerms(r.Id, r.Kind, r.Amount is { } a ? new Money(a, campaign.Currency) : null, r.Percent)
            : null;
    }
}
