using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// What is left of a campaign's budget, from the worker's own rows (the worker, not Tracking.Api,
/// knows commissions and payouts). A read only: it changes nothing of how commissions are computed.
/// </summary>
public static class CampaignBudgetApi
{
    public static void MapCampaignBudgetApi(this IEndpointRouteBuilder app) =>
        // {id}: the campaign's UUID or its external key (CampaignKeys).
        app.MapGroup("/api/messaging").WithTags("Commissions").RequireAuthorization(AuthenticationExtensions.AdminPolicy)
            .MapGet("/campaigns/{id}/budget", Budget).WithName("CampaignBudget")
            .WithSummary("The campaign's budget committed (owed and paid commissions), paid, and remaining");

    /// <summary>
    /// budget: the last snapshot the worker received (null before the campaign's first commission,
    /// when nothing is committed either); committed: what commissions hold of it, the worker's
    /// campaign_budgets.committed_amount; paid: the sum of paid payouts; remaining: budget − committed.
    /// </summary>
    public sealed record CampaignBudget(Guid CampaignId, Money? Budget, Money? Committed, Money? Paid, Money? Remaining);

    public static async Task<Results<Ok<CampaignBudget>, NotFound, ValidationProblem>> Budget(
        string id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        if (!CampaignKeys.IsReference(id)) return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["id"] = [CampaignKeys.ReferenceRule] });
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await CampaignKeys.FindInAsync(connection, workspace, id) is not { } campaign) return TypedResults.NotFound();
        var row = await connection.QuerySingleOrDefaultAsync<BudgetRow>("""
            SELECT b.budget_amount, b.currency, b.committed_amount,
                   (SELECT coalesce(sum(p.amount), 0) FROM messaging.payouts p
                    WHERE p.workspace_id = @workspace AND p.state = 'paid'
                      AND (EXISTS (SELECT 1 FROM messaging.commissions c WHERE c.id = p.commission_id AND c.campaign_id = @campaign)
                           OR EXISTS (SELECT 1 FROM messaging.traffic_commissions t WHERE t.payout_id = p.id AND t.campaign_id = @campaign))) AS paid_amount
            FROM messaging.campaign_budgets b WHERE b.campaign_id = @campaign AND b.workspace_id = @workspace
            """, new { workspace, campaign });
        if (row is null) return TypedResults.Ok(new CampaignBudget(campaign, null, null, null, null));
        var budget = new Money(row.BudgetAmount, row.Currency);
        var committed = new Money(row.CommittedAmount, row.Currency);
        return TypedResults.Ok(new CampaignBudget(campaign, budget, committed, new Money(row.PaidAmount, row.Currency), budget - committed));
    }

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount, decimal PaidAmount);
}
