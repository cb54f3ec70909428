using Dapper;
using Funnels.Contracts;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Fair order for the last of a budget: conversions draw on their campaign's budget in the order
/// Tracking.Api recorded them (recorded time, then conversion id), whatever order the worker
/// handles them in. Under the campaign's budget row lock, a conversion that arrives after
/// later-recorded ones were allocated takes their shares back (<see cref="YieldAsync"/>), draws
/// first, and they draw again in recorded order (<see cref="RedrawAsync"/>). Bounded: only a
/// commission whose payout is not yet made is re-drawn (a paid one keeps what it was paid); each
/// change is reported to the statistics as a CommissionCalculated of the difference under its own
/// id. A refund that releases budget lets the capped, unpaid conversions draw again the same way
/// (<see cref="ReleasedAsync"/>). Traffic is not re-drawn: it accrues as it comes.
/// </summary>
public static class BudgetOrder
{
    public sealed record Later(Guid Id, string ConversionId, Guid CampaignId, Guid InfluencerId, Guid WorkspaceId, decimal ComputedAmount, decimal Amount,
        Guid PayoutId, string PayoutState, DateTime DueAt);

    /// <summary>The budget as this conversion sees it: committed without what later-recorded, unpaid commissions took.</summary>
    public sealed record Turn(Money Budget, Money Committed, IReadOnlyList<Later> Later);

    public static async Task<Turn> YieldAsync(NpgsqlTransaction transaction, Guid campaignId, DateTime recordedAt, string conversionId, Money budget, Money committed)
    {
        var later = await UnpaidAsync(transaction, campaignId, "(c.recorded_at, c.conversion_id) > (@recordedAt, @conversionId)", new { campaignId, recordedAt, conversionId });
        return new Turn(budget, committed - Sum(later, budget.Currency), later);
    }

    /// <summary>
    /// After a refund released budget: the conversions the cap held back (not yet paid) draw
    /// again, in recorded order, as if the refunded one had never taken its share.
    /// </summary>
    public static async Task<Turn> ReleasedAsync(NpgsqlTransaction transaction, Guid campaignId, Money budget, Money committed)
    {
        var capped = await UnpaidAsync(transaction, campaignId, "c.capped_by_budget", new { campaignId });
        return new Turn(budget, committed - Sum(capped, budget.Currency), capped);
    }

    private static async Task<IReadOnlyList<Later>> UnpaidAsync(NpgsqlTransaction transaction, Guid campaignId, string which, object parameters) =>
        (await transaction.Connection!.QueryAsync<Later>($"""
            SELECT c.id, c.conversion_id, c.campaign_id, c.influencer_id, c.workspace_id, c.computed_amount, c.amount,
                   p.id AS payout_id, p.state AS payout_state, p.due_at
            FROM messaging.commissions c JOIN messaging.payouts p ON p.commission_id = c.id
            WHERE c.campaign_id = @campaignId AND c.state IN ('owed', 'nothing_due') AND p.state IN ('pending', 'scheduled', 'nothing_due') AND {which}
            ORDER BY c.recorded_at, c.conversion_id
            FOR UPDATE OF c, p
            """, parameters, transaction)).ToList();

    private static Money Sum(IEnumerable<Later> commissions, string currency) =>
        commissions.Aggregate(Money.Zero(currency), (sum, l) => sum + new Money(l.Amount, currency));

    /// <summary>After the earlier conversion took <paramref name="taken"/> (nothing, after a refund): each one of the turn draws again, in recorded order.</summary>
    public static async Task RedrawAsync(
        IMessageContext context, NpgsqlTransaction transaction, Turn turn, Money taken, CommissionMetrics metrics, ILogger logger)
    {
        var connection = transaction.Connection!;
        var committed = turn.Committed + taken;
        var now = DateTime.UtcNow;
        foreach (var later in turn.Later)
        {
            var (amount, capped) = CommissionCalculator.Cap(new Money(later.ComputedAmount, turn.Budget.Currency), turn.Budget, committed);
            committed += amount;
            var change = amount - new Money(later.Amount, turn.Budget.Currency);
            if (change.Amount == 0)
            {
                continue;
            }
            var due = later.DueAt < now ? now : later.DueAt;
            var reopen = amount.Amount > 0 && later.PayoutState == "nothing_due";
            await connection.ExecuteAsync("""
                UPDATE messaging.commissions SET amount = @amount, capped_by_budget = @capped,
                    state = CASE WHEN @amount > 0 THEN 'owed' ELSE 'nothing_due' END WHERE id = @Id;
                UPDATE messaging.payouts SET amount = @amount,
                    state = CASE WHEN @amount = 0 THEN 'nothing_due' WHEN @reopen THEN 'scheduled' ELSE state END,
                    scheduled_at = CASE WHEN @reopen THEN @now ELSE scheduled_at END, due_at = CASE WHEN @reopen THEN @due ELSE due_at END
                WHERE id = @PayoutId;
                UPDATE messaging.campaign_budgets SET committed_amount = committed_amount + @change, updated_at = @now WHERE campaign_id = @CampaignId;
                """, new { later.Id, later.PayoutId, later.CampaignId, amount = amount.Amount, capped, reopen, now, due, change = change.Amount }, transaction);
            metrics.Counted("redrawn", "conversion");
            logger.LogInformation("Commission of conversion {ConversionId} re-drawn from {Before} to {After} in recorded order",
                later.ConversionId, later.Amount, amount.Amount);
            if (reopen)
            {
                await context.ScheduleAsync(new PayoutDue(later.PayoutId), new DateTimeOffset(due));
            }
            // A scheduled PayoutDue of a payout now nothing_due is a no-op when it fires (it pays only pending or scheduled payouts).
            await context.PublishAsync(new CommissionCalculated(later.WorkspaceId, Guid.CreateVersion7(), later.ConversionId, later.CampaignId,
                later.InfluencerId, change, capped, new DateTimeOffset(due)));
        }
    }
}
