using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Extensions;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.WiringChecks;

public static class WiringCheckRequestedHandler
{
    private const string Consumer = "wiring-check-receipt";

    public static Task Handle(WiringCheckRequested message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, message.CheckId.ToString(), cancellationToken))
            {
                // A repeat delivery: count it, so a test (and an admin) can see it arrived again, and do nothing else.
                await connection.ExecuteAsync(
                    "UPDATE messaging.wiring_check_receipts SET deliveries = deliveries + 1 WHERE check_id = @CheckId", message, transaction);
                return;
            }
            await connection.ExecuteAsync(
                "INSERT INTO messaging.wiring_check_receipts (check_id, requested_at) VALUES (@CheckId, @RequestedAt)", message, transaction);
        }, cancellationToken);
}
