using Dapper;
using Funnels.Contracts;
using Npgsql;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Pays a traffic commission's payout: closes its accrual row (later traffic opens a new one) and
/// pays what the budget reserved for it, the exact accrual rounded down to the currency's minor
/// unit (payable_amount). The sub-unit residue stays on the closed row and is carried into the
/// next period's row of the same campaign, influencer and rule kind (or shown as residue when
/// there is none): never paid twice, never lost silently. A payout of nothing is nothing_due.
/// </summary>
public static class TrafficPayout
{
    /// <returns>paid or nothing_due; null when there was nothing to pay (already closed).</returns>
    public static async Task<string?> PayAsync(NpgsqlTransaction transaction, Guid payoutId)
    {
        var connection = transaction.Connection!;
        var campaignId = await connection.ExecuteScalarAsync<Guid?>(
            "SELECT campaign_id FROM messaging.traffic_commissions WHERE payout_id = @payoutId", new { payoutId }, transaction);
        if (campaignId is null)
        {
            return null;
        }
        // The budget row first, as accruals take it: an accrual racing this payout either lands before (and is paid) or after (a new row).
        await connection.ExecuteAsync("SELECT 1 FROM messaging.campaign_budgets WHERE campaign_id = @campaignId FOR UPDATE", new { campaignId }, transaction);
        var accrual = await connection.QuerySingleOrDefaultAsync<Accrual>("""
            UPDATE messaging.traffic_commissions SET closed_at = now(), paid_amount = payable_amount, residue_amount = accrued_amount - payable_amount
            WHERE payout_id = @payoutId AND closed_at IS NULL
            RETURNING id, payable_amount AS paid
            """, new { payoutId }, transaction);
        if (accrual is null)
        {
            return null;
        }
        await connection.ExecuteAsync("""
            UPDATE messaging.payouts SET state = CASE WHEN @Paid > 0 THEN 'paid' ELSE 'nothing_due' END, paid_at = CASE WHEN @Paid > 0 THEN now() END,
                amount = @Paid
            WHERE id = @payoutId AND state IN ('pending', 'scheduled')
            """, new { accrual.Paid, payoutId }, transaction);
        return accrual.Paid > 0 ? "paid" : "nothing_due";
    }

    private sealed record Accrual(Guid Id, decimal Paid);
}
