using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Computes a conversion's commission by its campaign's rule (rounded by the money rule), capped
/// by the campaign's remaining budget under its row lock, records the payout and schedules it for
/// the end of the refund window as a durable scheduled message, all in one outbox transaction. A
/// commission of nothing is closed at once (nothing_due). The conversion id is claimed: a repeat
/// computes nothing. Conversions draw on the budget in the order Tracking.Api recorded them
/// (recorded time, then id): see <see cref="BudgetOrder"/>.
/// </summary>
public static class ConversionRecordedHandler
{
    private const string Consumer = "commission";

    public static Task Handle(
        ConversionRecorded message, IMessageContext context, NpgsqlDataSource dataSource, CommissionMetrics metrics, ILogger<CommissionMetrics> logger,
        CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (message.Commission is not { } terms
                || !await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, $"{message.WorkspaceId}:{message.ConversionId}", cancellationToken))
            {
                return;
            }
            var connection = transaction.Connection!;
            var refunded = await connection.ExecuteScalarAsync<bool>(
                "SELECT EXISTS (SELECT 1 FROM messaging.refunded_conversions WHERE workspace_id = @WorkspaceId AND conversion_id = @ConversionId)", message, transaction);
            if (refunded)
            {
                return;
            }

            // The upsert locks the campaign's row until commit: raced conversions take turns here.
            var budget = await connection.QuerySingleAsync<BudgetRow>("""
                INSERT INTO messaging.campaign_budgets (campaign_id, workspace_id, budget_amount, currency) VALUES (@CampaignId, @WorkspaceId, @amount, @currency)
                ON CONFLICT (campaign_id) DO UPDATE SET budget_amount = EXCLUDED.budget_amount, updated_at = now()
                RETURNING budget_amount, currency, committed_amount
                """, new { message.CampaignId, message.WorkspaceId, amount = message.CampaignBudget.Amount, currency = message.CampaignBudget.Currency }, transaction);
            var recordedAt = (message.RecordedAt ?? message.OccurredAt).UtcDateTime;
            var order = await BudgetOrder.YieldAsync(transaction, message.CampaignId, recordedAt, message.ConversionId,
                new Money(budget.BudgetAmount, budget.Currency), new Money(budget.CommittedAmount, budget.Currency));

            var computed = CommissionCalculator.Compute(terms, message.Value);
            var (amount, capped) = CommissionCalculator.Cap(computed, order.Budget, order.Committed);

            var commissionId = Guid.CreateVersion7();
            var payoutId = Guid.CreateVersion7();
            var now = DateTime.UtcNow;
            var due = message.OccurredAt.UtcDateTime + message.RefundWindow;
            if (due < now) due = now;
            var state = amount.Amount > 0 ? "owed" : "nothing_due";
            await connection.ExecuteAsync("""
                INSERT INTO messaging.commissions (id, workspace_id, conversion_id, campaign_id, influencer_id, rule_id, rule_kind, conversion_value,
                    computed_amount, amount, currency, capped_by_budget, state, created_at, recorded_at)
                VALUES (@commissionId, @WorkspaceId, @ConversionId, @CampaignId, @InfluencerId, @ruleId, @kind, @value, @computed, @amount, @currency, @capped,
                    @state, @now, @recordedAt);
                UPDATE messaging.campaign_budgets SET committed_amount = committed_amount + @amount, updated_at = @now WHERE campaign_id = @CampaignId;
                INSERT INTO messaging.payouts (id, commission_id, workspace_id, amount, currency, state, due_at)
                VALUES (@payoutId, @commissionId, @WorkspaceId, @amount, @currency, CASE WHEN @state = 'owed' THEN 'pending' ELSE 'nothing_due' END, @due);
                """, new
            {
                commissionId, payoutId, message.WorkspaceId, message.ConversionId, message.CampaignId, message.InfluencerId, ruleId = terms.RuleId,
                kind = terms.Kind, value = message.Value.Amount, computed = computed.Amount, amount = amount.Amount, currency = amount.Currency, capped, state,
                now, due, recordedAt,
            }, transaction);

            if (amount.Amount > 0)
            {
                // Stored with the outbox in this transaction: survives a restart and fires on time.
                await context.ScheduleAsync(new PayoutDue(payoutId), new DateTimeOffset(due));
                await connection.ExecuteAsync(
                    "UPDATE messaging.payouts SET state = 'scheduled', scheduled_at = @now WHERE id = @payoutId", new { payoutId, now }, transaction);
            }
            metrics.Counted(state == "owed" ? capped ? "capped" : "owed" : "nothing_due", "conversion");
            await context.PublishAsync(new CommissionCalculated(message.WorkspaceId, commissionId, message.ConversionId, message.CampaignId,
                message.InfluencerId, amount, capped, new DateTimeOffset(due)));

            // The later-recorded conversions that gave their share back draw again, after this one.
            await BudgetOrder.RedrawAsync(context, transaction, order, amount, metrics, logger);
        }, cancellationToken);

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount);
}
