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

/// <summary>id is the client's; record_id ours (either reads the record back).</summary>
public sealed record AttributionOutcome(string Id, bool Recorded, Guid CampaignId, Guid InfluencerId, string? AttributedBy = null, Guid? RecordId = null);

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
        [FromServices] AttributionMetrics metrics, [FromServices] ILogger<AttributionOutcome> logger, CancellationToken cancellationToken)
    {
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null) return metrics.Refused("impression", problem);
        var errors = new Dictionary<string, string[]>();
        var f = new FieldReader(root, "", errors, AttributionAliases.Impression);
        f.CheckAliases();
        var id = f.Id("id", required: true);
        var campaignRef = Reference(f, "campaign_id", required: true);
        var influencerRef = Reference(f, "influencer_id", required: true);
        // Only to find an external key's campaign when no attribution key names the workspace.
        var workspaceId = f.Guid("workspace_id");
        var eventType = EventType(f);
        var userId = f.Text("user_id", maxLength: 128);
        var userAgent = f.Text("user_agent", maxLength: 512);
        var ip = f.Text("ip_address", maxLength: 64);
        var referrer = f.Text("referrer", maxLength: 2048);
        // Recorded by our clock: what is paid depends on it (a click after the campaign's end is not), not on the client's timestamp.
        var recordedAt = clock.GetUtcNow();
        var at = f.Timestamp("timestamp") ?? recordedAt.UtcDateTime;
        if (errors.Count > 0) return metrics.Refused("impression", JsonBody.Invalid(errors));

        ExternalKeys.Named? named;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            named = await ExternalKeys.CampaignAsync(connection, await KeyOwnerAsync(http.Request, connection) ?? workspaceId, campaignRef!);
            if (await AttributionKeys.AuthorizeAsync(http.Request, connection, named?.WorkspaceId) is { } denied) return metrics.Refused("impression", denied);
        }

        var target = await TargetAsync(dataSource, f, named?.Id, influencerRef!, cancellationToken);
        if (target.Problem is not null) return metrics.Refused("impression", target.Problem);
        var campaign = target.Campaign!;
        var (campaignId, influencerId) = (campaign.Id, target.InfluencerId);
        CommissionTerms? terms;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            terms = await TrafficTermsAsync(connection, campaign, influencerId, eventType!);
        }

        var (outcome, differs) = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var recordId = await transaction.Connection!.QuerySingleOrDefaultAsync<Guid?>("""
                INSERT INTO tracking.impressions (workspace_id, id, campaign_id, influencer_id, event_type, user_id, user_agent, ip_address, referrer, occurred_at)
                VALUES (@WorkspaceId, @id, @campaignId, @influencerId, @eventType, @userId, @userAgent, @ip, @referrer, @at)
                ON CONFLICT (workspace_id, id) DO NOTHING
                RETURNING record_id
                """, new { campaign.WorkspaceId, id, campaignId, influencerId, eventType, userId, userAgent, ip, referrer, at }, transaction);
            if (recordId is { } created)
            {
                await messages.PublishAsync(new ImpressionRecorded(campaign.WorkspaceId, id!, campaignId, influencerId, eventType!, campaign.Currency));
                if (terms is { } paid)
                {
                    await messages.PublishAsync(new CampaignTrafficRecorded(campaign.WorkspaceId, id!, campaignId, influencerId, eventType!,
                        new Money(campaign.BudgetAmount, campaign.Currency), paid, new DateTimeOffset(at),
                        campaign.EndsAt is { } end ? new DateTimeOffset(end) : null, TimeSpan.FromSeconds(campaign.RefundWindowSeconds), recordedAt));
                }
                return (new AttributionOutcome(id!, true, campaignId, influencerId, RecordId: created), (string[])[]);
            }
            // A repeat: the same record, unless the id now names another impression.
            var first = await transaction.Connection!.QuerySingleAsync<FirstImpression>(
                "SELECT record_id, campaign_id, influencer_id, event_type FROM tracking.impressions WHERE workspace_id = @WorkspaceId AND id = @id",
                new { campaign.WorkspaceId, id }, transaction);
            string[] changed = [
                .. first.CampaignId != campaignId ? [f.NameOf("campaign_id")] : Array.Empty<string>(),
                .. first.InfluencerId != influencerId ? [f.NameOf("influencer_id")] : Array.Empty<string>(),
                .. first.EventType != eventType ? [f.NameOf("event_type")] : Array.Empty<string>()];
            return (new AttributionOutcome(id!, false, first.CampaignId, first.InfluencerId, RecordId: first.RecordId), changed);
        }, cancellationToken);
        return Answer("impression", id!, outcome, differs, metrics, logger);
    }

    public static async Task<IResult> PostConversion(
        HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, [FromServices] TimeProvider clock,
        [FromServices] AttributionMetrics metrics, [FromServices] ILogger<AttributionOutcome> logger, CancellationToken cancellationToken)
    {
        // Tracking.Api's clock when it records the conversion: the order conversions draw on the budget in.
        var recordedAt = clock.GetUtcNow();
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null) return metrics.Refused("conversion", problem);
        var errors = new Dictionary<string, string[]>();
        var f = new FieldReader(root, "", errors, AttributionAliases.Conversion);
        f.CheckAliases();
        var id = f.Id("id", required: true);
        var campaignRef = Reference(f, "campaign_id");
        var influencerRef = Reference(f, "influencer_id");
        var workspaceId = f.Guid("workspace_id");
        var userId = f.Text("user_id", maxLength: 128);
        var visitorId = f.Id("visitor_id") ?? (userId is not null && Ids.IsValid(userId) ? userId : null);
        var conversionType = f.Text("conversion_type", required: true, maxLength: 64);
        var value = f.Decimal("value", required: true);
        if (value < 0) f.Fail("value", "must not be negative");
        var currency = f.Currency("currency", required: true);
        var at = f.Timestamp("timestamp") ?? recordedAt.UtcDateTime;
        if ((campaignRef is null) != (influencerRef is null) && errors.Count == 0)
        {
            f.Fail(campaignRef is null ? "campaign_id" : "influencer_id", "campaign_id and influencer_id are given together, or both left out to attribute from the visitor's session");
        }
        if (campaignRef is null && errors.Count == 0)
        {
            if (workspaceId is null) f.Fail("workspace_id", "is required to attribute a conversion from the visitor's session");
            if (visitorId is null) f.Fail("visitor_id", "is required (or user_id) to attribute a conversion from the visitor's session");
        }
        if (errors.Count > 0) return metrics.Refused("conversion", JsonBody.Invalid(errors));

        // Reads first, on a connection returned before the write opens its own.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        Guid? campaignId = null;
        if (campaignRef is not null)
        {
            var named = await ExternalKeys.CampaignAsync(connection, await KeyOwnerAsync(http.Request, connection) ?? workspaceId, campaignRef);
            campaignId = named?.Id;
            if (await AttributionKeys.AuthorizeAsync(http.Request, connection, named?.WorkspaceId) is { } denied) return metrics.Refused("conversion", denied);
        }
        else if (await AttributionKeys.AuthorizeAsync(http.Request, connection, workspaceId) is { } denied)
        {
            return metrics.Refused("conversion", denied);
        }
        var attributedBy = "request";
        if (campaignRef is null)
        {
            var session = await connection.QuerySingleOrDefaultAsync<SessionCampaign>("""
                SELECT campaign_id, influencer_id FROM tracking.sessions
                WHERE workspace_id = @workspaceId AND visitor_id = @visitorId AND campaign_id IS NOT NULL AND influencer_id IS NOT NULL
                ORDER BY started_at DESC LIMIT 1
                """, new { workspaceId, visitorId });
            if (session is null)
            {
                return metrics.Refused("conversion", JsonBody.Invalid(new() { ["campaign_id"] = ["is required: no session of this visitor arrived through a campaign link"] }));
            }
            (campaignId, influencerRef, attributedBy) = (session.CampaignId, session.InfluencerId.ToString(), "session");
        }
        var target = await TargetAsync(dataSource, f, campaignId, influencerRef!, cancellationToken);
        if (target.Problem is not null) return metrics.Refused("conversion", target.Problem);
        var campaign = target.Campaign!;
        var influencerId = target.InfluencerId;
        campaignId = campaign.Id;
        if (workspaceId is { } w && w != campaign.WorkspaceId) return metrics.Refused("conversion", JsonBody.Invalid(new() { [f.NameOf("campaign_id")] = ["does not belong to workspace_id"] }));
        if (currency != campaign.Currency)
        {
            // One campaign's sums are in one currency: adding COP to USD would be a silent wrong sum.
            return metrics.Refused("conversion", JsonBody.Invalid(new() { [f.NameOf("currency")] = [$"must be the campaign's currency, {campaign.Currency}"] }));
        }

        // Like a click or an impression, a conversion recorded (by our clock) after the campaign's end is
        // stored and counted but earns nothing: the worker is sent no terms, so it computes no commission.
        var afterEnd = campaign.HasEnded(clock.GetUtcNow().UtcDateTime);
        var terms = afterEnd ? null : await TermsAsync(connection, campaign, influencerId);
        await connection.DisposeAsync();
        var money = new Money(value!.Value, currency!);
        var (outcome, differs) = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var recordId = await transaction.Connection!.QuerySingleOrDefaultAsync<Guid?>("""
                INSERT INTO tracking.conversions (workspace_id, id, campaign_id, influencer_id, visitor_id, user_id, conversion_type, value_amount, currency, attributed_by, occurred_at)
                VALUES (@WorkspaceId, @id, @campaignId, @influencerId, @visitorId, @userId, @conversionType, @amount, @currency, @attributedBy, @at)
                ON CONFLICT (workspace_id, id) DO NOTHING
                RETURNING record_id
                """, new { campaign.WorkspaceId, id, campaignId, influencerId, visitorId, userId, conversionType, amount = money.Amount, currency, attributedBy, at }, transaction);
            if (recordId is { } created)
            {
                await messages.PublishAsync(new ConversionRecorded(campaign.WorkspaceId, id!, campaignId.Value, influencerId, conversionType!, money,
                    new Money(campaign.BudgetAmount, campaign.Currency), TimeSpan.FromSeconds(campaign.RefundWindowSeconds), terms, new DateTimeOffset(at), RecordedAt: recordedAt));
                if (afterEnd)
                {
                    logger.LogInformation("Conversion {ConversionId} of campaign {CampaignId} recorded after the campaign's end: no commission", id, campaignId);
                    metrics.Outcome("conversion", "after_end");
                }
                return (new AttributionOutcome(id!, true, campaignId.Value, influencerId, attributedBy, created), (string[])[]);
            }
            // A repeat: the same record, unless the id now names another sale. A campaign found from the
            // session may have moved on since, so only one the request names is compared.
            var first = await transaction.Connection!.QuerySingleAsync<FirstConversion>("""
                SELECT record_id, campaign_id, influencer_id, conversion_type, value_amount, currency, attributed_by FROM tracking.conversions
                WHERE workspace_id = @WorkspaceId AND id = @id
                """, new { campaign.WorkspaceId, id }, transaction);
            var named = attributedBy == "request";
            string[] changed = [
                .. named && first.CampaignId != campaignId ? [f.NameOf("campaign_id")] : Array.Empty<string>(),
                .. named && first.InfluencerId != influencerId ? [f.NameOf("influencer_id")] : Array.Empty<string>(),
                .. first.ConversionType != conversionType ? [f.NameOf("conversion_type")] : Array.Empty<string>(),
                .. first.ValueAmount != money.Amount ? [f.NameOf("value")] : Array.Empty<string>(),
                .. first.Currency != currency ? [f.NameOf("currency")] : Array.Empty<string>()];
            return (new AttributionOutcome(id!, false, first.CampaignId, first.InfluencerId, first.AttributedBy, first.RecordId), changed);
        }, cancellationToken);
        return Answer("conversion", id!, outcome, differs, metrics, logger);
    }

    /// <summary>
    /// 202 for a new record and for a repeat of the same one (recorded: false, the first record's ids);
    /// 409 naming the fields when the client's id was already used for a different impression or conversion.
    /// </summary>
    private static IResult Answer(string kind, string id, AttributionOutcome outcome, string[] differs, AttributionMetrics metrics, ILogger logger)
    {
        if (differs.Length > 0)
        {
            logger.LogWarning("Attribution {Kind} id {Id} reused with different {Fields}; refused", kind, id, string.Join(", ", differs));
            metrics.Outcome(kind, "id_conflict");
            return TypedResults.Problem(
                $"The {kind} id '{id}' was already recorded with another {string.Join(", ", differs)}. A repeat must be the same {kind} (it is then answered recorded: false); another {kind} needs its own id.",
                title: "Id already used", statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { ["record_id"] = outcome.RecordId, ["fields"] = differs });
        }
        metrics.Outcome(kind, outcome.Recorded ? "recorded" : "repeat");
        return TypedResults.Accepted((string?)null, outcome);
    }

    /// <summary>A campaign or influencer reference: our UUID or the workspace's external key for it.</summary>
    private static string? Reference(FieldReader f, string name, bool required = false)
    {
        var text = f.Text(name, required, 64);
        if (text is not null && !ExternalKeys.IsReference(text))
        {
            f.Fail(name, ExternalKeys.ReferenceRule);
            return null;
        }
        return text;
    }

    /// <summary>Required (issue #17: a missing type was silently an impression); aliases per AttributionAliases.EventTypes.</summary>
    private static string? EventType(FieldReader f)
    {
        var text = f.Text("event_type", maxLength: 32);
        if (text is null)
        {
            f.Fail("event_type", "is required: impression or click (alias tipo_evento: IMPRESION or CLICK)");
            return null;
        }
        if (AttributionAliases.EventTypes.TryGetValue(text, out var type)) return type;
        f.Fail("event_type", AttributionAliases.EventTypeRule);
        return null;
    }

    /// <summary>The workspace of the attribution key sent, if it is valid: the scope an external key is looked up in.</summary>
    private static async Task<Guid?> KeyOwnerAsync(HttpRequest request, NpgsqlConnection connection) =>
        AttributionKeys.Sent(request) ? await AttributionKeys.OwnerAsync(connection, request.Headers[AttributionKeys.Header].ToString()) : null;

    private sealed record FirstImpression(Guid RecordId, Guid CampaignId, Guid InfluencerId, string EventType);

    private sealed record FirstConversion(Guid RecordId, Guid CampaignId, Guid InfluencerId, string ConversionType, decimal ValueAmount, string Currency, string AttributedBy);

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
            // {id}: the client's id, else our record_id.
            var row = await transaction.Connection!.QuerySingleOrDefaultAsync<ConversionState>("""
                SELECT id, campaign_id, influencer_id, refunded_at IS NOT NULL AS refunded FROM tracking.conversions
                WHERE workspace_id = @workspace AND (id = @id OR record_id = @recordId) ORDER BY id = @id DESC LIMIT 1 FOR UPDATE
                """, new { workspace, id, recordId = Guid.TryParse(id, out var r) ? r : (Guid?)null }, transaction);
            if (row is not { } conversion) return null;
            var clientId = conversion.Id;
            if (!conversion.Refunded)
            {
                var now = DateTime.UtcNow;
                await transaction.Connection!.ExecuteAsync(
                    "UPDATE tracking.conversions SET refunded_at = @now WHERE workspace_id = @workspace AND id = @clientId", new { workspace, clientId, now }, transaction);
                await messages.PublishAsync(new ConversionRefunded(workspace, clientId, conversion.CampaignId, new DateTimeOffset(now)));
            }
            return new AttributionOutcome(clientId, !conversion.Refunded, conversion.CampaignId, conversion.InfluencerId);
        }, cancellationToken);
        return outcome is null ? TypedResults.NotFound() : TypedResults.Ok(outcome);
    }

    private sealed record SessionCampaign(Guid CampaignId, Guid InfluencerId);

    private sealed record ConversionState(string Id, Guid CampaignId, Guid InfluencerId, bool Refunded);

    private sealed record RuleRow(Guid Id, string Kind, decimal? Amount, decimal? Percent);

    internal sealed record CampaignTarget(Guid Id, Guid WorkspaceId, decimal BudgetAmount, string Currency, int RefundWindowSeconds, string Status, DateTime? EndsAt)
    {
        public bool HasEnded(DateTime now) => CampaignsApi.StatusAt(Status, EndsAt, now) == "ended";
    }

    /// <summary>The campaign (already resolved; null: unknown) and the influencer it names, by UUID or external key, in the campaign's workspace.</summary>
    private static async Task<(CampaignTarget? Campaign, Guid InfluencerId, IResult? Problem)> TargetAsync(
        NpgsqlDataSource dataSource, FieldReader f, Guid? campaignId, string influencerRef, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var campaign = campaignId is null ? null : await connection.QuerySingleOrDefaultAsync<CampaignTarget>(
            "SELECT id, workspace_id, budget_amount, currency, refund_window_seconds, status, ends_at FROM tracking.campaigns WHERE id = @campaignId", new { campaignId });
        if (campaign is null)
        {
            return (null, default, JsonBody.Invalid(new() { [f.NameOf("campaign_id")] = ["is not a known campaign (by UUID or this workspace's external key)"] }));
        }
        if (await ExternalKeys.InfluencerInAsync(connection, campaign.WorkspaceId, influencerRef) is not { } influencerId)
        {
            return (null, default, JsonBody.Invalid(new() { [f.NameOf("influencer_id")] = ["is not an influencer of the campaign's workspace (by UUID or external key)"] }));
        }
        return (campaign, influencerId, null);
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
