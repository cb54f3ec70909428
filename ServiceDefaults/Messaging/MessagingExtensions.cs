using System.Reflection;
using Funnels.ServiceDefaults.Data;
using JasperFx.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Postgresql;
using Wolverine.RabbitMQ;

namespace Funnels.ServiceDefaults.Messaging;

public static class MessagingExtensions
{
    // The AppHost resource name, and so the connection-string name (ConnectionStrings__rabbitmq).
    public const string ConnectionName = "rabbitmq";

    /// <summary>
    /// Wolverine for one service: envelopes persisted in PostgreSQL (its own schema, in the same
    /// database as the service's tables, so the outbox shares their transaction), RabbitMQ as
    /// the transport with queues provisioned on start, durable inbox and outbox on every endpoint,
    /// and one error policy: retry with cooling off, then Wolverine's dead-letter storage in
    /// PostgreSQL, where Admin.Web can inspect and replay it.
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsMessaging(
        this IHostApplicationBuilder builder,
        string schema,
        Assembly handlersAssembly,
        Action<WolverineOptions>? routes = null)
    {
        // Aspire's factory would quietly fall back to localhost:5672: a missing name fails start-up instead.
        if (string.IsNullOrEmpty(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            throw new InvalidOperationException(
                $"Connection string '{ConnectionName}' is missing: set ConnectionStrings__{ConnectionName} (AppHost does this for you).");
        }
        // Aspire's RabbitMQ integration registers the one IConnectionFactory (from ConnectionStrings:rabbitmq and
        // the Aspire:RabbitMQ:Client section) and a health check over a connection of its own. That connection
        // opens on the first /health, not at start (a broker away must not hold start-up), and without Aspire's
        // connect retries (up to half a minute of a blocked /health while the broker is down).
        builder.AddRabbitMQClient(ConnectionName, settings =>
            {
                settings.DisableAutoActivation = true;
                settings.MaxConnectRetryCount = 0;
            },
            // The broker's connection list names the service (Wolverine's connections and the health check's).
            factory => factory.ClientProvidedName = builder.Environment.ApplicationName);
        builder.RenameHealthCheck("RabbitMQ.Client", ConnectionName);
        var settings = builder.Configuration.GetSection("Messaging").Get<MessagingSettings>() ?? new MessagingSettings();

        builder.Services.AddWolverine(options =>
        {
            // Set explicitly: under a test runner the entry assembly is the runner's, and
            // handlers would silently get no route.
            options.ApplicationAssembly = handlersAssembly;
            options.ServiceName = builder.Environment.ApplicationName;

            // The service's own data source (Aspire's, from the container): one pool with its caps for the
            // service's tables and Wolverine's envelopes alike. PersistMessagesWithPostgresqlUsingNamedConnection
            // would build a second pool from the bare connection string, outside Postgres:MaxPoolSize.
            options.PersistMessagesWithPostgresqlUsingDataSourceFromContainer(schemaName: $"{schema}_wolverine");
            // UseRabbitMq() takes the IConnectionFactory from the container: Aspire's, registered above.
            // UseRabbitMqUsingNamedConnection would register a second factory beside it, and whichever came
            // last would silently serve both Wolverine and the health check.
            options.UseRabbitMq()
                .AutoProvision()
                // The outbox row is deleted once a publish returns: without the broker's confirm, a
                // message published as RabbitMQ stops was lost (Faults.Tests' broker outage found one).
                .ConfigureChannelCreation(channels =>
                {
                    channels.PublisherConfirmationsEnabled = true;
                    channels.PublisherConfirmationTrackingEnabled = true;
                })
                // Dead letters go to PostgreSQL, not a broker queue: one store to inspect and replay.
                .CustomizeDeadLetterQueueing(new DeadLetterQueue("funnels-dead-letters", DeadLetterQueueMode.WolverineStorage));

            options.Policies.UseDurableInboxOnAllListeners();
            options.Policies.UseDurableOutboxOnAllSendingEndpoints();

            // Service-specific routes and error rules first: Wolverine takes the first rule that matches.
            routes?.Invoke(options);

            // The database away (restarting, failing over, out of connections) is not the message's
            // fault: wait minutes for it, not the seconds an ordinary error gets, rather than
            // dead-letter work that was accepted (Faults.Tests' outage dead-lettered a webhook delivery).
            options.Policies.OnException(DatabaseUnavailableExceptionHandler.IsUnavailable)
                .RetryWithCooldown(settings.DatabaseRetryCooldowns())
                .Then.MoveToErrorQueue();

            options.Policies.OnAnyException()
                .RetryWithCooldown(settings.RetryCooldowns())
                .Then.MoveToErrorQueue();

            options.Durability.ScheduledJobPollingTime = settings.ScheduledPolling;
            // Each poll releases at most this many due scheduled messages (Wolverine's default is 100):
            // 2,000 delays due together then took 20 polls, i.e. up to 20 s late at 1 s polling.
            options.Durability.RecoveryBatchSize = settings.RecoveryBatchSize;
            options.Durability.StaleNodeTimeout = settings.StaleNodeTimeout;
            options.Durability.NodeReassignmentPollingTime = settings.NodeReassignmentPolling;
            // Wolverine's durability agent sends only unowned (owner 0) and dead nodes' outbox rows, so a
            // row its live node never sends stayed forever. A commit whose answer a database crash cut off
            // is one: CommitAsync throws, the flush after it never runs, yet the row committed (Faults.Tests'
            // PostgreSQL crash left a LeadCaptured so). Rows older than this are released to any node and
            // sent by the agent. Wolverine adds a `timestamp` column to its own outgoing table for it (its
            // own migration on start-up, as for its other tables). A row is that old only when its send
            // failed, was slow or was never flushed, so in the normal case nothing is sent twice; when a
            // send was only slow it may be, which consumers tolerate (the durable inbox drops a repeated
            // envelope id, and each consumer claims a business key).
            options.Durability.OutboxStaleTime = settings.OutboxStaleTime;
        });
        return builder;
    }
}

/// <summary>Timings from configuration ("Messaging" section); tests shorten them.</summary>
public sealed class MessagingSettings
{
    // No initialiser: the configuration binder appends to an array's existing elements instead of replacing them.
    public int[]? RetryCooldownMilliseconds { get; set; }
    public TimeSpan ScheduledPolling { get; set; } = 1.Seconds();
    public int RecoveryBatchSize { get; set; } = 2_000;
    public TimeSpan StaleNodeTimeout { get; set; } = 30.Seconds();
    public TimeSpan NodeReassignmentPolling { get; set; } = 5.Seconds();
    public TimeSpan OutboxStaleTime { get; set; } = 1.Minutes();

    public int[]? DatabaseRetryCooldownMilliseconds { get; set; }

    public TimeSpan[] DatabaseRetryCooldowns() =>
        Cooldowns(DatabaseRetryCooldownMilliseconds, [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 60_000, 60_000]);

    public TimeSpan[] RetryCooldowns() => Cooldowns(RetryCooldownMilliseconds, [100, 500, 2_000]);

    private static TimeSpan[] Cooldowns(int[]? configured, int[] defaults) =>
        (configured is { Length: > 0 } ? configured : defaults).Select(ms => TimeSpan.FromMilliseconds(ms)).ToArray();
}
