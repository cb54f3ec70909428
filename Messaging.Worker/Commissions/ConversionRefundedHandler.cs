using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// A refunded conversion owes no commission: a payout not yet made is cancelled (its scheduled
/// message becomes a no-op), a payout already made is reversed (a claw-back the operator must
/// recover), and the budget it took is released to the conversions the cap held back (not yet
/// paid), in recorded order. The commission takes its payout's state. A refund that overtakes its
/// conversion is remembered.
/// </summary>
public static class ConversionRefundedHandler
{
    private const string Consumer = "commission-refund";

    public static Task Handle(
        ConversionRefunded message, IMessageContext context, NpgsqlDataSource dataSource, CommissionMetrics metrics, ILogger<CommissionMetrics> logger,
        CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, $"{message.WorkspaceId}:{message.ConversionId}", cancellationToken))
            {
                return;
            }
            var connection = transaction.Connection!;
            var now = DateTime.UtcNow;
            await connection.ExecuteAsync("""
                INSERT INTO messaging.refunded_conversions (workspace_id, conversion_id, refunded_at) VALUES (@WorkspaceId, @ConversionId, @at)
                ON CONFLICT DO NOTHING
                """, new { message.WorkspaceId, message.ConversionId, at = message.RefundedAt.UtcDateTime }, transaction);
            // The campaign's budget row first, as every writer of commissions and payouts takes it.
            var budget = await connection.QuerySingleOrDefaultAsync<BudgetRow>(
                "SELECT budget_amount, currency, committed_amount FROM messaging.campaign_budgets WHERE campaign_id = @CampaignId FOR UPDATE", message, transaction);
            var commission = await connection.QuerySingleOrDefaultAsync<CommissionRow>("""
                SELECT c.id, c.campaign_id, c.influencer_id, c.amount, c.currency, p.state AS payout_state
                FROM messaging.commissions c JOIN messaging.payouts p ON p.commission_id = c.id
                WHERE c.workspace_id = @WorkspaceId AND c.conversion_id = @ConversionId AND c.state IN ('owed', 'paid', 'nothing_due')
                FOR UPDATE OF c, p
                """, message, transaction);
            if (commission is null || budget is null)
            {
                return;
            }
            // Before payment the payout is cancelled; after it, reversed: a claw-back the operator must recover.
            var wasPaid = commission.PayoutState == "paid";
            var state = wasPaid ? "reversed" : "cancelled";
            await connection.ExecuteAsync("""
                UPDATE messaging.commissions SET state = @state, reversed_at = @now WHERE id = @Id;
                UPDATE messaging.payouts SET state = @state, reversed_at = @now WHERE commission_id = @Id;
                UPDATE messaging.campaign_budgets SET committed_amount = greatest(0, committed_amount - @Amount), updated_at = @now WHERE campaign_id = @CampaignId;
                """, new { commission.Id, commission.Amount, commission.CampaignId, now, state }, transaction);
            metrics.Counted(state, "conversion");
            await context.PublishAsync(new CommissionReversed(message.WorkspaceId, commission.Id, message.ConversionId, commission.CampaignId,
                commission.InfluencerId, new Money(commission.Amount, commission.Currency), wasPaid, new DateTimeOffset(now)));

            // What the refund released goes to the conversions the cap held back, in recorded order.
            var released = new Money(Math.Max(0, budget.CommittedAmount - commission.Amount), budget.Currency);
            var turn = await BudgetOrder.ReleasedAsync(transaction, commission.CampaignId, new Money(budget.BudgetAmount, budget.Currency), released);
            await BudgetOrder.RedrawAsync(context, transaction, turn, Money.Zero(budget.Currency), metrics, logger);
        }, cancellationToken);

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount);

    private sealed record CommissionRow(Guid Id, Guid CampaignId, Guid InfluencerId, decimal Amount, string Currency, string PayoutState);
}
