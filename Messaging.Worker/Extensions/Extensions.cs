using Funnels.Contracts;
using Funnels.Messaging.Commissions;
using Funnels.Messaging.Webhooks;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.RabbitMQ;

namespace Funnels.Messaging.Extensions;

internal static class Extensions
{
    // Messaging.Worker owns the "messaging" schema; Wolverine's envelopes live in "messaging_wolverine".
    public const string Schema = "messaging";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var webhooks = builder.Configuration.GetSection("Webhooks").Get<WebhookSettings>() ?? new WebhookSettings();
        builder.Services.AddSingleton(webhooks);
        builder.Services.AddSingleton<WebhookSender>();

        var dataSource = builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(dataSource, Schema, typeof(Program).Assembly, routes =>
        {
            routes.ListenToRabbitQueue(Queues.MessagingWorker);

            // Deliveries run on a durable local queue: persisted in PostgreSQL, retried on a schedule.
            routes.PublishMessage<DeliverWebhook>().ToLocalQueue("webhooks");
            routes.LocalQueue("webhooks").UseDurableInbox().MaximumParallelMessages(8);
            routes.Policies.OnException<WebhookDeliveryFailed>()
                .ScheduleRetry(webhooks.RetryDelays())
                .Then.MoveToErrorQueue();

            // Commissions: results go back to Tracking.Api's read models; payouts wait on a durable local queue.
            routes.PublishMessage<CommissionCalculated>().ToRabbitQueue(Queues.TrackingApi);
            routes.PublishMessage<CommissionReversed>().ToRabbitQueue(Queues.TrackingApi);
            routes.PublishMessage<PayoutDue>().ToLocalQueue("payouts");
            routes.LocalQueue("payouts").UseDurableInbox();
        });
    }
}
