using Dapper;
using Npgsql;

namespace Funnels.Runtime.Events;

/// <summary>
/// Idempotency keys are kept for a day (clients retry within minutes; Stripe-style APIs keep 24 h),
/// then removed in small batches so the table stays small without long locks.
/// </summary>
public sealed class IdempotencyKeyExpiry(NpgsqlDataSource dataSource, ILogger<IdempotencyKeyExpiry> logger) : BackgroundService
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10));
        do
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                var removed = await connection.ExecuteAsync(new CommandDefinition("""
                    DELETE FROM runtime.idempotency_keys WHERE ctid IN (
                        SELECT ctid FROM runtime.idempotency_keys WHERE created_at < now() - @retention LIMIT 5000)
                    """, new { retention = Retention }, cancellationToken: stoppingToken));
                if (removed > 0)
                {
                    logger.LogInformation("Removed {Count} expired idempotency keys", removed);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(ex, "Could not remove expired idempotency keys; trying again later");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
