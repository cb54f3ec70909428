using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Messaging.Commissions;

/// <summary>The workspace's commissions and payouts, newest first, paged.</summary>
public static class CommissionsApi
{
    public static void MapCommissionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging").WithTags("Commissions").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/commissions", Commissions).WithName("ListCommissions").WithSummary("Commissions (of conversions and of traffic) with their payout, by campaign, conversion or kind, paged");
        api.MapGet("/payouts", Payouts).WithName("ListPayouts").WithSummary("Payouts by state (pending, scheduled, paid, nothing_due, cancelled, reversed), paged");
    }

    /// <summary>campaign_id and influencer_id: of the payout's commission (conversion or traffic); set in the payouts list.</summary>
    public sealed record Payout(Guid Id, Guid CommissionId, Money Amount, string State, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt,
        Guid? CampaignId = null, Guid? InfluencerId = null);

    /// <summary>
    /// A conversion's commission (kind "conversion"), or a traffic commission (kind "traffic"): the
    /// clicks or impressions (events) of one campaign, influencer and rule kind accrued in the payout
    /// period ending at period_ends_at; it has no conversion (conversion_id null, conversion_value 0).
    /// Amount is always in the currency's minor unit: what is owed and will be paid (or was paid).
    /// State follows the payout: owed (pending or scheduled), paid, nothing_due, cancelled, reversed.
    /// Traffic only: accrued is the exact accrual (carried is the residue of the last period brought
    /// in), residue what of it is below the minor unit and still here (0 once carried into the next period's row).
    /// </summary>
    public sealed record Commission(
        Guid Id, string? ConversionId, Guid CampaignId, Guid InfluencerId, string? RuleKind, Money ConversionValue, Money Computed, Money Amount,
        bool CappedByBudget, string State, DateTime CreatedAt, Payout Payout, string Kind, long? Events, DateTime? PeriodEndsAt,
        Money? Accrued = null, Money? Carried = null, Money? Residue = null);

    public static async Task<Results<Ok<PagedList<Commission>>, ValidationProblem>> Commissions(
        ClaimsPrincipal user, NpgsqlDataSource db, [FromQuery(Name = "campaign_id")] string? campaign, [FromQuery(Name = "conversion_id")] string? conversionId,
        string? kind, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        if (kind is not (null or "conversion" or "traffic"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["kind"] = ["must be conversion or traffic"] });
        }
        campaign = string.IsNullOrWhiteSpace(campaign) ? null : campaign.Trim();
        if (campaign is not null && !CampaignKeys.IsReference(campaign))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["campaign_id"] = [CampaignKeys.ReferenceRule] });
        }
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        Guid? campaignId = null;
        if (campaign is not null)
        {
            // A key no campaign of this workspace has (another workspace's included) names nothing, as an unknown UUID does.
            if (await CampaignKeys.ResolveAsync(connection, workspace, campaign) is not { } id) return TypedResults.Ok(paging.Of(Array.Empty<Commission>(), 0));
            campaignId = id;
        }
        var filter = new { workspace, campaignId, conversionId, kind, paging.Limit, paging.Offset };
        // Conversion commissions and traffic commissions, each with its payout, as one list.
        const string both = """
            SELECT 'conversion' AS kind, c.id, c.conversion_id, c.campaign_id, c.influencer_id, c.rule_kind, c.conversion_value, c.computed_amount,
                   c.amount, c.currency, c.capped_by_budget, c.state, c.created_at, NULL::bigint AS events, NULL::timestamptz AS period_ends_at,
                   NULL::numeric AS accrued_amount, NULL::numeric AS carried_amount, NULL::numeric AS residue_amount,
                   p.id AS payout_id, p.amount AS payout_amount, p.state AS payout_state, p.due_at, p.scheduled_at, p.paid_at, p.reversed_at
            FROM messaging.commissions c JOIN messaging.payouts p ON p.commission_id = c.id
            WHERE c.workspace_id = @workspace AND (@kind::text IS NULL OR @kind = 'conversion')
              AND (@campaignId::uuid IS NULL OR c.campaign_id = @campaignId) AND (@conversionId::text IS NULL OR c.conversion_id = @conversionId)
            UNION ALL
            SELECT 'traffic', t.id, NULL, t.campaign_id, t.influencer_id, t.rule_kind, 0, t.computed_amount,
                   t.payable_amount, t.currency, t.capped_by_budget, CASE WHEN p.state IN ('pending', 'scheduled') THEN 'owed' ELSE p.state END,
                   t.created_at, t.events, t.period_ends_at, t.accrued_amount, t.carried_amount,
                   CASE WHEN t.residue_carried THEN 0 ELSE t.accrued_amount - t.payable_amount END,
                   p.id, p.amount, p.state, p.due_at, p.scheduled_at, p.paid_at, p.reversed_at
            FROM messaging.traffic_commissions t JOIN messaging.payouts p ON p.id = t.payout_id
            WHERE t.workspace_id = @workspace AND (@kind::text IS NULL OR @kind = 'traffic')
              AND (@campaignId::uuid IS NULL OR t.campaign_id = @campaignId) AND @conversionId::text IS NULL
            """;
        var rows = await connection.QueryAsync<CommissionRow>($"SELECT * FROM ({both}) x ORDER BY created_at DESC, id LIMIT @Limit OFFSET @Offset", filter);
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM ({both}) x", filter);
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToCommission()).ToList(), total));
    }

    public static async Task<Results<Ok<PagedList<Payout>>, ValidationProblem>> Payouts(
        ClaimsPrincipal user, NpgsqlDataSource db, string? state, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        if (state is not (null or "pending" or "scheduled" or "paid" or "nothing_due" or "cancelled" or "reversed"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["must be pending, scheduled, paid, nothing_due, cancelled or reversed"] });
        }
        var paging = Paging.From(page, pageSize);
        var filter = new { workspace = user.WorkspaceIdOf(), state, paging.Limit, paging.Offset };
        const string where = "WHERE workspace_id = @workspace AND (@state::text IS NULL OR state = @state)";
        await using var connection = await db.OpenConnectionAsync(ct);
        // The campaign and influencer of the payout's commission, a conversion's or a period's traffic.
        var rows = await connection.QueryAsync<PayoutRow>("""
            SELECT p.id, p.commission_id, p.amount, p.currency, p.state, p.due_at, p.scheduled_at, p.paid_at, p.reversed_at,
                   coalesce(c.campaign_id, t.campaign_id) AS campaign_id, coalesce(c.influencer_id, t.influencer_id) AS influencer_id
            FROM messaging.payouts p
            LEFT JOIN messaging.commissions c ON c.id = p.commission_id
            LEFT JOIN messaging.traffic_commissions t ON t.payout_id = p.id
            WHERE p.workspace_id = @workspace AND (@state::text IS NULL OR p.state = @state)
            ORDER BY p.due_at DESC, p.id LIMIT @Limit OFFSET @Offset
            """, filter);
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messaging.payouts {where}", filter);
        return TypedResults.Ok(paging.Of(rows.Select(r => new Payout(r.Id, r.CommissionId, new Money(r.Amount, r.Currency), r.State,
            r.DueAt, r.ScheduledAt, r.PaidAt, r.ReversedAt, r.CampaignId, r.InfluencerId)).ToList(), total));
    }

    private sealed record PayoutRow(Guid Id, Guid CommissionId, decimal Amount, string Currency, string State, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt,
        Guid? CampaignId, Guid? InfluencerId);

    private sealed record CommissionRow(
        string Kind, Guid Id, string? ConversionId, Guid CampaignId, Guid InfluencerId, string? RuleKind, decimal ConversionValue, decimal ComputedAmount,
        decimal Amount, string Currency, bool CappedByBudget, string State, DateTime CreatedAt, long? Events, DateTime? PeriodEndsAt,
        decimal? AccruedAmount, decimal? CarriedAmount, decimal? ResidueAmount, Guid PayoutId,
        decimal PayoutAmount, string PayoutState, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt)
    {
        public Commission ToCommission() => new(Id, ConversionId, CampaignId, InfluencerId, RuleKind, new Money(ConversionValue, Currency),
            new Money(ComputedAmount, Currency), new Money(Amount, Currency), CappedByBudget, State, CreatedAt,
            new Payout(PayoutId, Id, new Money(PayoutAmount, Currency), PayoutState, DueAt, ScheduledAt, PaidAt, ReversedAt), Kind, Events, PeriodEndsAt,
            Of(AccruedAmount), Of(CarriedAmount), Of(ResidueAmount));

        private Money? Of(decimal? amount) => amount is { } a ? new Money(a, Currency) : null;
    }
}
