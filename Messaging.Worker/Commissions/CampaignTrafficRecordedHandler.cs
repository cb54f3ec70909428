using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Accrues a paid click or impression into its campaign and influencer's traffic commission:
/// a click adds the rule's amount, an impression amount/1000 (exact, rounded only when paid),
/// never beyond the campaign's remaining budget (the same budget row lock as conversions).
/// The event id is claimed in the same transaction: a repeat accrues nothing.
/// </summary>
public static class CampaignTrafficRecordedHandler
{
    private const string Consumer = "traffic-commission";

    public static Task Handle(CampaignTrafficRecorded message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, $"{message.WorkspaceId}:{message.EventId}", cancellationToken))
            {
                return;
            }
            var connection = transaction.Connection!;

            // The upsert locks the campaign's row until commit: raced events and conversions take turns here.
            var budget = await connection.QuerySingleAsync<BudgetRow>("""
                INSERT INTO messaging.campaign_budgets (campaign_id, workspace_id, budget_amount, currency) VALUES (@CampaignId, @WorkspaceId, @amount, @currency)
                ON CONFLICT (campaign_id) DO UPDATE SET budget_amount = EXCLUDED.budget_amount, updated_at = now()
                RETURNING budget_amount, currency, committed_amount
                """, new { message.CampaignId, message.WorkspaceId, amount = message.CampaignBudget.Amount, currency = message.CampaignBudget.Currency }, transaction);

            var computed = CommissionCalculator.ComputeTraffic(message.Commission, message.EventType);
            var (amount, capped) = CommissionCalculator.Cap(computed,
                new Money(budget.BudgetAmount, budget.Currency), new Money(budget.CommittedAmount, budget.Currency));

            var now = DateTime.UtcNow;
            await connection.ExecuteAsync("""
                INSERT INTO messaging.traffic_commissions AS t (id, workspace_id, campaign_id, influencer_id, rule_kind, rule_id, events,
                    computed_amount, accrued_amount, currency, capped_by_budget, created_at, updated_at)
                VALUES (@id, @WorkspaceId, @CampaignId, @InfluencerId, @kind, @ruleId, 1, @computed, @amount, @currency, @capped, @now, @now)
                ON CONFLICT (campaign_id, influencer_id, rule_kind) DO UPDATE SET
                    events = t.events + 1, computed_amount = t.computed_amount + EXCLUDED.computed_amount,
                    accrued_amount = t.accrued_amount + EXCLUDED.accrued_amount, capped_by_budget = t.capped_by_budget OR EXCLUDED.capped_by_budget,
                    rule_id = EXCLUDED.rule_id, updated_at = EXCLUDED.updated_at
                """, new
            {
                id = Guid.CreateVersion7(), message.WorkspaceId, message.CampaignId, message.InfluencerId, kind = message.Commission.Kind,
                ruleId = message.Commission.RuleId, computed = computed.Amount, amount = amount.Amount, currency = amount.Currency, capped, now,
            }, transaction);
            if (amount.Amount <= 0)
            {
                return;
            }
            await connection.ExecuteAsync(
                "UPDATE messaging.campaign_budgets SET committed_amount = committed_amount + @amount, updated_at = @now WHERE campaign_id = @CampaignId",
                new { amount = amount.Amount, now, message.CampaignId }, transaction);

            // Each accrual is reported under its own id (the read model counts each once); the
            // traffic commission accrues until paid, so no payout date is known yet: it is "now".
            await context.PublishAsync(new CommissionCalculated(message.WorkspaceId, Guid.CreateVersion7(), message.EventId, message.CampaignId,
                message.InfluencerId, amount, capped, new DateTimeOffset(now)));
        }, cancellationToken);

    private sealed record BudgetRow(decimal BudgetAmount, string Currency, decimal CommittedAmount);
}
