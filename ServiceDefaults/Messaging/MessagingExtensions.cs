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
        NpgsqlDataSource dataSource,
        string schema,
        Assembly handlersAssembly,
        Action<WolverineOptions>? routes = null)
    {
        var rabbitMq = builder.Configuration.GetRequiredConnectionString(ConnectionName);
        var settings = builder.Configuration.GetSection("Messaging").Get<MessagingSettings>() ?? new MessagingSettings();

        builder.Services.AddWolverine(options =>
        {
            // Set explicitly: under a test runner the entry assembly is the runner's, and
            // handlers would silently get no route.
            options.ApplicationAssembly = handlersAssembly;
            options.ServiceName = builder.Environment.ApplicationName;

            options.PersistMessagesWithPostgresql(dataSource, $"{schema}_wolverine");
            options.UseRabbitMq(new Uri(rabbitMq))
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
        });

        builder.Services.AddSingleton(new RabbitMqConnectionCheck(new Uri(rabbitMq)));
        builder.Services.AddHealthChecks().AddCheck<RabbitMqConnectionCheck>(ConnectionName);
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

    public int[]? DatabaseRetryCooldownMilliseconds { get; set; }

    public TimeSpan[] DatabaseRetryCooldowns() =>
        Cooldowns(DatabaseRetryCooldownMilliseconds, [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 60_000, 60_000]);

    public TimeSpan[] RetryCooldowns() => Cooldowns(RetryCooldownMilliseconds, [100, 500, 2_000]);

    private static TimeSpan[] Cooldowns(int[]? configured, int[] defaults) =>
        (configured is { Length: > 0 } ? configured : defaults).Select(ms => TimeSpan.FromMilliseconds(ms)).ToArray();
}
