extern alias messaging;
using Funnels.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Funnels.Tests.Infrastructure;

/// <summary>The RabbitMQ queues between the services, read over AMQP (a passive declare reports a queue's ready messages).</summary>
public static class Broker
{
    public static readonly string[] ServiceQueues =
        [Queues.MessagingWorker, Queues.RuntimeApi, Queues.TrackingApi, Queues.TrackingApiWorkspaces, messaging::Funnels.Messaging.Runs.FlowQueues.Executions];

    /// <summary>The service queues holding messages nobody has taken yet, as "queue: n queued".</summary>
    public static async Task<List<string>> QueuedMessagesAsync(this Servers servers)
    {
        var factory = new ConnectionFactory { Uri = new Uri(servers.RabbitMq), ClientProvidedName = "funnels-tests" };
        await using var connection = await factory.CreateConnectionAsync(TestContext.Current.CancellationToken);
        var queued = new List<string>();
        foreach (var queue in ServiceQueues)
        {
            // A passive declare of a queue that does not exist (yet) closes its channel: one channel per queue.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: TestContext.Current.CancellationToken);
            try
            {
                var declared = await channel.QueueDeclarePassiveAsync(queue, TestContext.Current.CancellationToken);
                if (declared.MessageCount > 0) queued.Add($"{queue}: {declared.MessageCount} queued");
            }
            catch (OperationInterruptedException)
            {
                // Not declared: no service has started that uses it, and nothing was sent to it.
            }
        }
        return queued;
    }
}
