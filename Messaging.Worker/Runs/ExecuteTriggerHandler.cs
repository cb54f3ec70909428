using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>
/// Takes one queued trigger and runs its flow up to the first wait (see <see cref="RunStarter"/>:
/// however many instances receive the message, one run exists per trigger). The message path of
/// lead-captured triggers, test-sends, and WhatsApp triggers that could not start inline. A
/// test-send runs its flow in any status, with the run id it reserved.
/// </summary>
public static class ExecuteTriggerHandler
{
    public static Task Handle(ExecuteTrigger message, IMessageContext bus, NpgsqlDataSource dataSource, RunStarter starter, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, transaction => starter.StartAsync(transaction, bus, [message.TriggerId], cancellationToken), cancellationToken);
}
