using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;

namespace Funnels.ServiceDefaults.Messaging;

/// <summary>
/// At start, publishes a message for each row never announced (rows made before the message
/// existed), through the outbox, marking them in the same transaction. The marking UPDATE locks
/// the rows it takes: two instances starting at once cannot both announce one.
/// </summary>
public static class StartupAnnouncements
{
    /// <param name="markSql">An UPDATE that sets the rows' announced mark and RETURNs what <paramref name="message"/> needs.</param>
    /// <returns>How many rows were announced.</returns>
    public static async Task<int> AnnounceUnannouncedAsync<TRow>(
        this IServiceScopeFactory scopes, NpgsqlDataSource dataSource, string markSql, Func<TRow, object> message, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var messages = scope.ServiceProvider.GetRequiredService<IMessageContext>();
        return await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var rows = (await transaction.Connection!.QueryAsync<TRow>(markSql, transaction: transaction)).ToList();
            foreach (var row in rows)
            {
                await messages.PublishAsync(message(row));
            }
            return rows.Count;
        }, cancellationToken);
    }
}
