using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// At start, schedules traffic payouts that were never scheduled: those that migration 0102 gave to
/// traffic accrued before payouts existed, and those opened before 0103 that had earned nothing
/// yet (a payout of nothing is closed as nothing_due when it fires). Accruals now schedule their
/// payout when they open it, so nothing else is left pending. Two workers starting at once
/// update disjoint rows: the UPDATE locks what it claims.
/// </summary>
public sealed class TrafficPayoutSweep(IServiceScopeFactory scopes, NpgsqlDataSource dataSource) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<IMessageContext>();
        await context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var due = await transaction.Connection!.QueryAsync<(Guid Id, DateTime DueAt)>("""
                UPDATE messaging.payouts SET state = 'scheduled', scheduled_at = now()
                WHERE kind = 'traffic' AND state = 'pending'
                RETURNING id, due_at
                """, transaction: transaction);
            foreach (var (id, dueAt) in due)
            {
                await context.ScheduleAsync(new PayoutDue(id), new DateTimeOffset(dueAt, TimeSpan.Zero));
            }
        }, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
