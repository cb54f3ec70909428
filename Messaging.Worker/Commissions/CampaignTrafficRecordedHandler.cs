using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Accrues a paid click or impression into its campaign, influencer and rule kind's traffic
/// commission for the payout period it was recorded in: a click adds the rule's amount, an
/// impression amount/1000 (exact, rounded only when paid), never beyond the campaign's remaining
/// budget (the same budget row lock as conversions). The first accrual of a period opens its
/// payout; the first that earns something schedules it as a durable PayoutDue. The event id is
/// claimed in the same transaction: a repeat accrues nothing.
/// </summary>
public static class CampaignTrafficRecordedHandler
{
    private const string Consumer = "traffic-commission";

    public static Task Handle(
        CampaignTrafficRecorded message, IMessageContext context, NpgsqlDataSource dataSource, CommissionSettings settings, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, $"{message.WorkspaceId}:{message.EventId}", cancellationToken))
            {
                return;
            }
            var recordedAt = (message.RecordedAt ?? message.OccurredAt).UtcDateTime;
            if (TrafficPayoutPeriod.Of(recordedAt, message.CampaignEndsAt?.UtcDateTime, message.RefundWindow ?? TrafficPayoutPeriod.DefaultRefundWindow,
                    settings.TrafficPayoutPeriod) is not { } period)
            {
                return; // recorded after the campaign's end: not paid
            }
            var (periodEndsAt, dueAt) = period;
            var connection = transaction.Connection!;

            // The upsert locks the campaign's row until commit: raced events, conversions and payouts take turns here.
            var budget = await connection.QuerySingleAsync<BudgetRow>("""
                INSERT INTO messaging.campaign_budgets (campaign_id, workspace_id, budget_amount, currency) VALUES (@CampaignId, @WorkspaceId, @amount, @currency)
                ON CONFLICT (campaign_id) DO UPDATE SET budget_amount = EXCLUDED.budget_amount, updated_at = now()
                RETURNING budget_amount, currency, committed_amount
                """, new { message.CampaignId, message.WorkspaceId, amount = message.CampaignBudget.Amount, currency = message.CampaignBudget.Currency }, transaction);

            var computed = CommissionCalculator.ComputeTraffic(message.Commission, message.EventType);
            var (amount, capped) = CommissionCalculator.Cap(computed,
                new Money(budget.BudgetAmount, budget.Currency), new Money(budget.CommittedAmount, budget.Currency));

            var now = DateTime.UtcNow;
            // A period whose payout was already made (the worker was down past its due time) reopens with a payout due now.
            if (dueAt < now) dueAt = now;
            var (id, payoutId) = (Guid.CreateVersion7(), Guid.CreateVersion7());
            var row = await connection.QuerySingleAsync<TrafficRow>("""
                INSERT INTO messaging.traffic_commissions AS t (id, workspace_id, campaign_id, influencer_id, rule_kind, rule_id, events,
                    computed_amount, accrued_amount, currency, capped_by_budget, created_at, updated_at, period_ends_at, payout_id)
                VALUES (@id, @WorkspaceId, @CampaignId, @InfluencerId, @kind, @ruleId, 1, @computed, @amount, @currency, @capped, @now, @now, @periodEndsAt, @payoutId)
                ON CONFLICT (campaign_id, influencer_id, rule_kind, period_ends_at) WHERE closed_at IS NULL DO UPDATE SET
                    events = t.events + 1, computed_amount = t.computed_amount + EXCLUDED.computed_amount,
                    accrued_amount = t.accrued_amount + EXCLUDED.accrued_amount, capped_by_budget = t.capped_by_budget OR EXCLUDED.capped_by_budget,
                    rule_id = EXCLUDED.rule_id, updated_at = EXCLUDED.updated_at
                RETURNING id, payout_id, accrued_amount
                """, new
            {
                id, message.WorkspaceId, message.CampaignId, message.InfluencerId, kind = message.Commission.Kind, ruleId = message.Commission.RuleId,
                computed = computed.Amount, amount = amount.Amount, currency = amount.Currency, capped, now, periodEndsAt, payoutId,
            }, transaction);

            // The payout shows the exact accrual until it is paid (then what was paid).
            var payout = await connection.QuerySingleAsync<PayoutRow>("""
                INSERT INTO messaging.payouts AS p (id, commission_id, workspace_id, amount, currency, state, due_at, kind)
                VALUES (@PayoutId, @Id, @workspace, @AccruedAmount, @currency, 'pending', @dueAt, 'traffic')
                ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount
                RETURNING state, due_at
                """, new { row.PayoutId, row.Id, workspace = message.WorkspaceId, row.AccruedAmount, currency = amount.Currency, dueAt }, transaction);
            if (amount.Amount <= 0)
            {
                return;
            }
            await connection.ExecuteAsync(
                "UPDATE messaging.campaign_budgets SET committed_amount = committed_amount + @amount, updated_at = @now WHERE campaign_id = @CampaignId",
                new { amount = amount.Amount, now, message.CampaignId }, transaction);
            if (payout.State == "pending")
            {
                // Stored with the outbox in this transaction: survives a restart and fires on time.
                await context.ScheduleAsync(new PayoutDue(row.PayoutId), new DateTimeOffset(payout.DueAt));
                await connection.ExecuteAsync(
                    "UPDATE messaging.payouts SET state = 'scheduled', scheduled_at = @now WHERE id = @PayoutId", new { row.PayoutId, now }, transaction);
            }

            // Each accrual is reported under its own id (the read model counts each once).
            await context.PublishAsync(new CommissionCalculated(message.WorkspaceId, Guid.CreateVersion7(), message.EventId, message.CampaignId,
                message.InfluencerId, amount, capped, new DateTimeOffset(payout.DueAt)));
        }, cancellationToken);

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount);

    private sealed record TrafficRow(Guid Id, Guid PayoutId, decimal AccruedAmount);

    private sealed record PayoutRow(string State, DateTime DueAt);
}
