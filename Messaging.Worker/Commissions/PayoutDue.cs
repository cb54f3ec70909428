using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>A payout's refund window ended: pay it unless it was reversed meanwhile. Scheduled durably in PostgreSQL.</summary>
public sealed record PayoutDue(Guid PayoutId);

public static class PayoutDueHandler
{
    private const string Consumer = "payout-due";

    public static Task Handle(PayoutDue message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, message.PayoutId.ToString(), cancellationToken))
            {
                return;
            }
            var kind = await transaction.Connection!.ExecuteScalarAsync<string?>(
                "SELECT kind FROM messaging.payouts WHERE id = @PayoutId", message, transaction);
            if (kind == "traffic")
            {
                await TrafficPayout.PayAsync(transaction, message.PayoutId);
                return;
            }
            // A reversed payout stays reversed: the scheduled message is then a no-op.
            await transaction.Connection!.ExecuteAsync(
                "UPDATE messaging.payouts SET state = 'paid', paid_at = now() WHERE id = @PayoutId AND state IN ('pending', 'scheduled')", message, transaction);
        }, cancellationToken);
}
