using Npgsql;
using Wolverine;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace Funnels.ServiceDefaults.Messaging;

/// <summary>
/// The one way Funnels writes state together with the messages it causes. With raw Npgsql
/// Wolverine's transactional middleware does not apply, so we enlist the message context in our
/// own NpgsqlTransaction: rows and outgoing envelopes commit together, and the envelopes are
/// flushed to the broker only after the commit. If the process dies after the commit, Wolverine's
/// durability agent sends the persisted envelopes later; if it dies before, nothing happened. If
/// the commit succeeded but its answer was lost (PostgreSQL killed mid-commit), the flush never
/// runs while the node lives on: Durability.OutboxStaleTime (MessagingExtensions) releases such
/// envelopes to the agent.
/// Endpoints and handlers both use it (handlers take IMessageContext and NpgsqlDataSource).
/// </summary>
public static class OutboxTransaction
{
    public static async Task<T> InOutboxTransactionAsync<T>(
        this IMessageContext messages,
        NpgsqlDataSource dataSource,
        Func<NpgsqlTransaction, Task<T>> work,
        CancellationToken cancellationToken)
    {
        // Enlisting and flushing live on Wolverine's concrete context, which is what both DI
        // (in endpoints) and generated handler code hand us for IMessageContext.
        if (messages is not MessageContext context)
        {
            throw new InvalidOperationException($"Expected Wolverine's MessageContext, got {messages.GetType().Name}.");
        }
        if (context.Storage is not IMessageDatabase messageDatabase)
        {
            throw new InvalidOperationException("Wolverine's message storage is not PostgreSQL: AddFunnelsMessaging was not called.");
        }

        T result;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await context.EnlistInOutboxAsync(new DatabaseEnvelopeTransaction(messageDatabase, transaction));
            result = await work(transaction);
            await transaction.CommitAsync(cancellationToken);
        }
        // The connection is back in the pool before the flush: a flush can wait on Wolverine's
        // sending agent, which needs pooled connections itself. Holding ours meanwhile exhausted
        // Runtime.Api's pool under load (the bench's open loop: 503s for 30 s).
        // Wolverine ignores every flush of a context after its first. Two handlers of one message
        // (or one handler with two transactions) share the context, each transaction flushing its
        // own envelopes: without this the second one's committed envelopes were never sent.
        context.MultiFlushMode = MultiFlushMode.AllowMultiples;
        await context.FlushOutgoingMessagesAsync();
        return result;
    }

    public static Task InOutboxTransactionAsync(
        this IMessageContext messages,
        NpgsqlDataSource dataSource,
        Func<NpgsqlTransaction, Task> work,
        CancellationToken cancellationToken) =>
        messages.InOutboxTransactionAsync(dataSource, async tx =>
        {
            await work(tx);
            return true;
        }, cancellationToken);
}
