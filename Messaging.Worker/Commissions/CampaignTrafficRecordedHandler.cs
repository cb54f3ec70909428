using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Accrues a paid click or impression into its campaign, influencer and rule kind's traffic
/// commission for the payout period it was recorded in: a click adds the rule's amount, an
/// impression amount/1000, kept exact (accrued_amount). The budget reserves only the whole minor
/// units of the accrual (payable_amount, what the payout will pay), under the same budget row
/// lock as conversions, so "commission owed" is what will be paid and the cap never lets it pass
/// the budget. The first accrual of a period opens its payout, scheduled at once as a durable
/// PayoutDue. The event id is claimed in the same transaction: a repeat accrues nothing.
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
            var now = DateTime.UtcNow;
            // A period whose payout was already made (the worker was down past its due time) reopens with a payout due now.
            if (dueAt < now) dueAt = now;
            var row = await connection.QuerySingleOrDefaultAsync<TrafficRow>("""
                SELECT id, payout_id, accrued_amount, payable_amount FROM messaging.traffic_commissions
                WHERE campaign_id = @CampaignId AND influencer_id = @InfluencerId AND rule_kind = @kind AND period_ends_at = @periodEndsAt AND closed_at IS NULL
                """, new { message.CampaignId, message.InfluencerId, kind = message.Commission.Kind, periodEndsAt }, transaction)
                ?? await OpenAsync(context, transaction, message, periodEndsAt, dueAt, now);

            // Exact accrual; the budget reserves only whole minor units of it (the money rule), the rest waits for the next event or period.
            var exact = new Money(row.AccruedAmount, computed.Currency) + computed;
            var payable = new Money(row.PayableAmount, computed.Currency);
            var (delta, capped) = CommissionCalculator.Cap(exact.RoundedDown() - payable,
                new Money(budget.BudgetAmount, budget.Currency), new Money(budget.CommittedAmount, budget.Currency));
            // Capped: the budget is spent, so nothing beyond what it reserved is earned (no residue either).
            var accrued = capped ? payable + delta : exact;
            await connection.ExecuteAsync("""
                UPDATE messaging.traffic_commissions SET events = events + 1, computed_amount = computed_amount + @computed, accrued_amount = @accrued,
                    payable_amount = payable_amount + @delta, capped_by_budget = capped_by_budget OR @capped, rule_id = @ruleId, updated_at = @now
                WHERE id = @Id;
                UPDATE messaging.payouts SET amount = amount + @delta WHERE id = @PayoutId;
                UPDATE messaging.campaign_budgets SET committed_amount = committed_amount + @delta, updated_at = @now WHERE campaign_id = @CampaignId;
                """, new
            {
                row.Id, row.PayoutId, message.CampaignId, computed = computed.Amount, accrued = accrued.Amount, delta = delta.Amount, capped,
                ruleId = message.Commission.RuleId, now,
            }, transaction);
            if (delta.Amount > 0)
            {
                // Each minor unit reserved is reported under its own id (the read model counts each once): "commission owed" is what will be paid.
                await context.PublishAsync(new CommissionCalculated(message.WorkspaceId, Guid.CreateVersion7(), message.EventId, message.CampaignId,
                    message.InfluencerId, delta, capped, new DateTimeOffset(dueAt)));
            }
        }, cancellationToken);

    /// <summary>
    /// The period's row, with the residue of the same campaign, influencer and rule kind's last
    /// paid period carried in, and its payout, scheduled at once (a payout of nothing is closed as nothing_due when it fires).
    /// </summary>
    private static async Task<TrafficRow> OpenAsync(
        IMessageContext context, NpgsqlTransaction transaction, CampaignTrafficRecorded message, DateTime periodEndsAt, DateTime dueAt, DateTime now)
    {
        var connection = transaction.Connection!;
        var (id, payoutId) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var carried = await connection.ExecuteScalarAsync<decimal>("""
            WITH carried AS (
                UPDATE messaging.traffic_commissions SET residue_carried = true
                WHERE campaign_id = @CampaignId AND influencer_id = @InfluencerId AND rule_kind = @kind AND closed_at IS NOT NULL AND NOT residue_carried
                RETURNING coalesce(residue_amount, 0) AS residue)
            SELECT coalesce(sum(residue), 0) FROM carried
            """, new { message.CampaignId, message.InfluencerId, kind = message.Commission.Kind }, transaction);
        await connection.ExecuteAsync("""
            INSERT INTO messaging.traffic_commissions (id, workspace_id, campaign_id, influencer_id, rule_kind, rule_id, events,
                computed_amount, accrued_amount, carried_amount, currency, created_at, updated_at, period_ends_at, payout_id)
            VALUES (@id, @WorkspaceId, @CampaignId, @InfluencerId, @kind, @ruleId, 0, 0, @carried, @carried, @currency, @now, @now, @periodEndsAt, @payoutId);
            INSERT INTO messaging.payouts (id, commission_id, workspace_id, amount, currency, state, due_at, scheduled_at, kind)
            VALUES (@payoutId, @id, @WorkspaceId, 0, @currency, 'scheduled', @dueAt, @now, 'traffic');
            """, new
        {
            id, payoutId, message.WorkspaceId, message.CampaignId, message.InfluencerId, kind = message.Commission.Kind, ruleId = message.Commission.RuleId,
            carried, currency = message.CampaignBudget.Currency, now, periodEndsAt, dueAt,
        }, transaction);
        // Stored with the outbox in this transaction: survives a restart and fires on time.
        await context.ScheduleAsync(new PayoutDue(payoutId), new DateTimeOffset(dueAt));
        return new TrafficRow(id, payoutId, carried, 0m);
    }

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount);

    private sealed record TrafficRow(Guid Id, Guid PayoutId, decimal AccruedAmount, decimal PayableAmount);
}
