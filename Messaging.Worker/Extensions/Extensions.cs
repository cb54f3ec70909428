using Funnels.Contracts;
using Funnels.Messaging.Runs;
using Funnels.Messaging.Sending;
using Funnels.Messaging.Commissions;
using Funnels.Messaging.Webhooks;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Outbound;
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
        // Webhook endpoints and flow webhook nodes call where users aim them: through the outbound policy.
        builder.AddFunnelsOutbound();
        builder.Services.AddSingleton<WebhookSender>();
        var whatsApp = builder.Configuration.GetSection("WhatsApp").Get<WhatsAppSendSettings>() ?? new WhatsAppSendSettings();
        builder.Services.AddSingleton(whatsApp);
        builder.Services.AddSingleton(builder.Configuration.GetSection("Flows").Get<FlowSettings>() ?? new FlowSettings());
        // Channels' own access tokens arrive encrypted: Data Protection with Runtime.Api's key ring (read only here).
        builder.AddFunnelsSecrets(createsKeys: false);
        builder.Services.AddSingleton<WhatsAppCloudClient>();
        builder.Services.AddSingleton<FlowWebhookCaller>();
        builder.Services.AddSingleton<FlowMetrics>();
        builder.Services.AddSingleton<CommissionMetrics>();
        builder.Services.AddSingleton<WorkerInstance>();
        builder.Services.AddSingleton<FlowEngine>();
        builder.Services.AddSingleton<RunStarter>();
        builder.Services.AddSingleton(builder.Configuration.GetSection("Commissions").Get<CommissionSettings>() ?? new CommissionSettings());

        builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(Schema, typeof(Program).Assembly, routes =>
        {
            routes.ListenToRabbitQueue(Queues.MessagingWorker);

            // Deliveries run on a durable local queue: persisted in PostgreSQL, retried on a schedule.
            routes.PublishMessage<DeliverWebhook>().ToLocalQueue("webhooks");
            routes.LocalQueue("webhooks").UseDurableInbox().MaximumParallelMessages(8);
            routes.Policies.OnException<WebhookDeliveryRefused>().MoveToErrorQueue();
            routes.Policies.OnException<WebhookDeliveryFailed>()
                .ScheduleRetry(webhooks.RetryDelays())
                .Then.MoveToErrorQueue();

            // Flow executions go through their own RabbitMQ queue: every worker instance drains it (a small
            // prefetch so one instance does not hoard a burst while another sits idle).
            routes.PublishMessage<ExecuteTrigger>().ToRabbitQueue(FlowQueues.Executions);
            routes.ListenToRabbitQueue(FlowQueues.Executions).PreFetchCount(20).MaximumParallelMessages(8);
            // Resumes, replies and timeouts (durable scheduled messages among them), and sends: durable local queues.
            routes.PublishMessage<ResumeRun>().ToLocalQueue(FlowQueues.Runs);
            routes.PublishMessage<ReplyReceived>().ToLocalQueue(FlowQueues.Runs);
            routes.PublishMessage<ReplyTimedOut>().ToLocalQueue(FlowQueues.Runs);
            routes.LocalQueue(FlowQueues.Runs).UseDurableInbox().MaximumParallelMessages(8);
            routes.PublishMessage<SendWhatsAppMessage>().ToLocalQueue(FlowQueues.Sends);
            routes.LocalQueue(FlowQueues.Sends).UseDurableInbox().MaximumParallelMessages(8);
            routes.Policies.OnException<GraphApiTransientException>()
                .ScheduleRetry(whatsApp.RetryDelays())
                .Then.MoveToErrorQueue();
            // Throttled sends already waited (their back-off is their schedule): past WhatsApp:ThrottleRetries, dead letters.
            routes.Policies.OnException<GraphApiThrottledException>().MoveToErrorQueue();
            // Commissions: results go back to Tracking.Api's read models; payouts wait on a durable local queue.
            routes.PublishMessage<CommissionCalculated>().ToRabbitQueue(Queues.TrackingApi);
            routes.PublishMessage<CommissionReversed>().ToRabbitQueue(Queues.TrackingApi);
            routes.PublishMessage<PayoutDue>().ToLocalQueue("payouts");
            routes.LocalQueue("payouts").UseDurableInbox();
        });
        // After Wolverine (registered just above) has started: it publishes through the outbox.
        builder.Services.AddHostedService<TrafficPayoutSweep>();
    }
}
