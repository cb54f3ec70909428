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
        api.MapGet("/commissions", Commissions).WithName("ListCommissions").WithSummary("Commissions with their payout, by campaign or conversion, paged");
        api.MapGet("/payouts", Payouts).WithName("ListPayouts").WithSummary("Payouts by state (pending, scheduled, paid, reversed), paged");
    }

    public sealed record Payout(Guid Id, Guid CommissionId, Money Amount, string State, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt);

    public sealed record Commission(
        Guid Id, string ConversionId, Guid CampaignId, Guid InfluencerId, string? RuleKind, Money ConversionValue, Money Computed, Money Amount,
        bool CappedByBudget, string State, DateTime CreatedAt, Payout Payout);

    public static async Task<Results<Ok<PagedList<Commission>>, ValidationProblem>> Commissions(
        ClaimsPrincipal user, NpgsqlDataSource db, [FromQuery(Name = "campaign_id")] Guid? campaignId, [FromQuery(Name = "conversion_id")] string? conversionId,
        int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var filter = new { workspace = user.WorkspaceIdOf(), campaignId, conversionId, paging.Limit, paging.Offset };
        const string where = """
            WHERE c.workspace_id = @workspace AND (@campaignId::uuid IS NULL OR c.campaign_id = @campaignId)
              AND (@conversionId::text IS NULL OR c.conversion_id = @conversionId)
            """;
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<CommissionRow>($"""
            SELECT c.id, c.conversion_id, c.campaign_id, c.influencer_id, c.rule_kind, c.conversion_value, c.computed_amount, c.amount, c.currency,
                   c.capped_by_budget, c.state, c.created_at, p.id AS payout_id, p.state AS payout_state, p.due_at, p.scheduled_at, p.paid_at, p.reversed_at
            FROM messaging.commissions c JOIN messaging.payouts p ON p.commission_id = c.id {where}
            ORDER BY c.created_at DESC, c.id LIMIT @Limit OFFSET @Offset
            """, filter);
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messaging.commissions c {where}", filter);
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToCommission()).ToList(), total));
    }

    public static async Task<Results<Ok<PagedList<Payout>>, ValidationProblem>> Payouts(
        ClaimsPrincipal user, NpgsqlDataSource db, string? state, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        if (state is not (null or "pending" or "scheduled" or "paid" or "reversed"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["must be pending, scheduled, paid or reversed"] });
        }
        var paging = Paging.From(page, pageSize);
        var filter = new { workspace = user.WorkspaceIdOf(), state, paging.Limit, paging.Offset };
        const string where = "WHERE workspace_id = @workspace AND (@state::text IS NULL OR state = @state)";
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<PayoutRow>($"""
            SELECT id, commission_id, amount, currency, state, due_at, scheduled_at, paid_at, reversed_at FROM messaging.payouts {where}
            ORDER BY due_at DESC, id LIMIT @Limit OFFSET @Offset
            """, filter);
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messaging.payouts {where}", filter);
        return TypedResults.Ok(paging.Of(rows.Select(r => new Payout(r.Id, r.CommissionId, new Money(r.Amount, r.Currency), r.State,
            r.DueAt, r.ScheduledAt, r.PaidAt, r.ReversedAt)).ToList(), total));
    }

    private sealed record PayoutRow(Guid Id, Guid CommissionId, decimal Amount, string Currency, string State, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt);

    private sealed record CommissionRow(
        Guid Id, string ConversionId, Guid CampaignId, Guid InfluencerId, string? RuleKind, decimal ConversionValue, decimal ComputedAmount, decimal Amount,
        string Currency, bool CappedByBudget, string State, DateTime CreatedAt, Guid PayoutId, string PayoutState, DateTime DueAt, DateTime? ScheduledAt,
        DateTime? PaidAt, DateTime? ReversedAt)
    {
        public Commission ToCommission() => new(Id, ConversionId, CampaignId, InfluencerId, RuleKind, new Money(ConversionValue, Currency),
            new Money(ComputedAmount, Currency), new Money(Amount, Currency), CappedByBudget, State, CreatedAt,
            new Payout(PayoutId, Id, new Money(Amount, Currency), PayoutState, DueAt, ScheduledAt, PaidAt, ReversedAt));
    }
}
