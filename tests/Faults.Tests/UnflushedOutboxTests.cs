using Dapper;
using Funnels.Contracts;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace Funnels.Faults.Tests;

/// <summary>
/// A committed outbox row that its live node never flushes (what a commit whose answer a database
/// crash cut off leaves: CommitAsync threw, so the flush after it never ran) is still sent, once
/// Messaging:OutboxStaleTime has passed. DatabaseCrashTests found one such LeadCaptured left for good.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class UnflushedOutboxTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_committed_message_its_live_node_never_flushed_is_sent_after_the_outbox_stale_time()
    {
        var message = new WiringCheckRequested(Guid.CreateVersion7(), DateTimeOffset.UtcNow);
        using (var scope = hosts.Runtime.Services.CreateScope())
        {
            var context = (MessageContext)scope.ServiceProvider.GetRequiredService<IMessageContext>();
            var dataSource = scope.ServiceProvider.GetRequiredService<NpgsqlDataSource>();
            await using var connection = await dataSource.OpenConnectionAsync(Cancel);
            await using var transaction = await connection.BeginTransactionAsync(Cancel);
            // OutboxTransaction.InOutboxTransactionAsync up to its commit, without the flush after it.
            await context.EnlistInOutboxAsync(new DatabaseEnvelopeTransaction((IMessageDatabase)context.Storage, transaction));
            await context.PublishAsync(message);
            await transaction.CommitAsync(Cancel);
        }

        await using var db = new NpgsqlConnection(hosts.Servers.Postgres);
        // Owned by the live in-process Runtime.Api: the durability agent's dead-node recovery leaves it alone.
        Assert.NotEqual(0, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes WHERE owner_id <> 0 AND message_type ILIKE '%wiringcheck%'"));
        // Stale time (1 min) plus the durability agent's polling, with room for a busy machine.
        await Eventually.Until(
            async () => await db.ExecuteScalarAsync<long?>(
                "SELECT deliveries FROM messaging.wiring_check_receipts WHERE check_id = @CheckId", message) is not null ? "received" : null,
            TimeSpan.FromMinutes(3), "the unflushed wiring check to reach the worker");
        Assert.Equal(1, await db.ExecuteScalarAsync<long>(
            "SELECT deliveries FROM messaging.wiring_check_receipts WHERE check_id = @CheckId", message));
        await Eventually.Until(
            async () => await db.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes WHERE message_type ILIKE '%wiringcheck%'") == 0 ? "gone" : null,
            TimeSpan.FromMinutes(1), "the sent row to leave the outbox");
    }
}
