using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>A payout's refund window ended: pay it unless it was cancelled or closed meanwhile. Scheduled durably in PostgreSQL.</summary>
public sealed record PayoutDue(Guid PayoutId);

public static class PayoutDueHandler
{
    /// <summary>
    /// Idempotent by the payout's state, not by a claimed message id: a payout re-drawn to nothing
    /// and back (BudgetOrder) is scheduled again, and that second PayoutDue must not be refused
    /// because the first, a no-op then, was handled.
    /// </summary>
    public static Task Handle(PayoutDue message, IMessageContext context, NpgsqlDataSource dataSource, CommissionMetrics metrics, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var kind = await transaction.Connection!.ExecuteScalarAsync<string?>(
                "SELECT kind FROM messaging.payouts WHERE id = @PayoutId", message, transaction);
            if (kind == "traffic")
            {
                if (await TrafficPayout.PayAsync(transaction, message.PayoutId) is { } outcome) metrics.Counted(outcome, "traffic");
                return;
            }
            // The campaign's budget row first, as every writer of commissions and payouts takes it: no deadlock with a re-draw or a refund.
            await transaction.Connection!.ExecuteAsync("""
                SELECT 1 FROM messaging.campaign_budgets WHERE campaign_id =
                    (SELECT c.campaign_id FROM messaging.commissions c JOIN messaging.payouts p ON p.commission_id = c.id WHERE p.id = @PayoutId)
                FOR UPDATE
                """, message, transaction);
            // A cancelled or nothing_due payout stays so: the scheduled message is then a no-op. The commission follows its payout.
            var paid = await transaction.Connection!.ExecuteAsync("""
                WITH paid AS (
                    UPDATE messaging.payouts SET state = 'paid', paid_at = now() WHERE id = @PayoutId AND state IN ('pending', 'scheduled') AND amount > 0
                    RETURNING commission_id)
                UPDATE messaging.commissions SET state = 'paid' WHERE id IN (SELECT commission_id FROM paid)
                """, message, transaction);
            if (paid > 0) metrics.Counted("paid", "conversion");
        }, cancellationToken);
}
