using Npgsql;

namespace Funnels.ServiceDefaults.Messaging;

/// <summary>
/// Business-key idempotency for consumers. Deliveries repeat (a broker redelivery, Meta retrying
/// for days, a replayed dead letter), so a handler claims its natural key inside the same
/// transaction as its effect: only the first claim wins, and a rollback releases the claim.
/// </summary>
public static class ProcessedMessages
{
    public static async Task<bool> TryClaimAsync(
        this NpgsqlTransaction transaction, string schema, string consumer, string messageKey, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"INSERT INTO {schema}.processed_messages (consumer, message_key) VALUES (@consumer, @key) ON CONFLICT DO NOTHING",
            transaction.Connection, transaction);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.AddWithValue("key", messageKey);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
