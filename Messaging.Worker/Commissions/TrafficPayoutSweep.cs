using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// At start, schedules traffic payouts that earn something but were never scheduled: those that
/// migration 0102 gave to traffic accrued before payouts existed. (Accruals schedule their payout
/// in their own transaction, so nothing else is left pending.) Two workers starting at once
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
                WHERE kind = 'traffic' AND state = 'pending' AND amount > 0
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
