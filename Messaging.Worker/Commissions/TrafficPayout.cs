using Dapper;
using Funnels.Contracts;
using Npgsql;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Pays a traffic commission's payout: closes its accrual row (later traffic opens a new one),
/// pays the exact accrual rounded down to the currency's minor unit, so a payout never exceeds
/// what the budget reserved, and releases the sub-unit remainder back to the budget.
/// </summary>
public static class TrafficPayout
{
    public static async Task PayAsync(NpgsqlTransaction transaction, Guid payoutId)
    {
        var connection = transaction.Connection!;
        var campaignId = await connection.ExecuteScalarAsync<Guid?>(
            "SELECT campaign_id FROM messaging.traffic_commissions WHERE payout_id = @payoutId", new { payoutId }, transaction);
        if (campaignId is null)
        {
            return;
        }
        // The budget row first, as accruals take it: an accrual racing this payout either lands before (and is paid) or after (a new row).
        await connection.ExecuteAsync("SELECT 1 FROM messaging.campaign_budgets WHERE campaign_id = @campaignId FOR UPDATE", new { campaignId }, transaction);
        var accrual = await connection.QuerySingleOrDefaultAsync<Accrual>("""
            UPDATE messaging.traffic_commissions SET closed_at = now() WHERE payout_id = @payoutId AND closed_at IS NULL
            RETURNING id, accrued_amount, currency
            """, new { payoutId }, transaction);
        if (accrual is null)
        {
            return;
        }
        var paid = new Money(accrual.AccruedAmount, accrual.Currency).RoundedDown();
        await connection.ExecuteAsync("""
            UPDATE messaging.traffic_commissions SET paid_amount = @paid WHERE id = @Id;
            UPDATE messaging.payouts SET state = 'paid', paid_at = now(), amount = @paid WHERE id = @payoutId AND state IN ('pending', 'scheduled');
            UPDATE messaging.campaign_budgets SET committed_amount = greatest(0, committed_amount - @remainder), updated_at = now() WHERE campaign_id = @campaignId;
            """, new { accrual.Id, paid = paid.Amount, payoutId, remainder = accrual.AccruedAmount - paid.Amount, campaignId }, transaction);
    }

    private sealed record Accrual(Guid Id, decimal AccruedAmount, string Currency);
}
