using Funnels.Contracts;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Campaigns;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Linking.Crm;
using Funnels.Tracking.Settings;
using Funnels.Tracking.Workspaces;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wolverine;
using Wolverine.RabbitMQ;

namespace Funnels.Tracking.Extensions;

internal static class Extensions
{
    // Tracking.Api owns the "tracking" schema; Wolverine's envelopes live in "tracking_wolverine".
    public const string Schema = "tracking";

    // The campaign statistics read model is kept by handlers on this durable local queue.
    private const string StatsQueue = "campaign-stats";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        // CRM secrets (the workspace's and the adapters') are encrypted at rest (Secrets:EncryptionKey).
        builder.AddFunnelsSecrets();
        builder.AddFunnelsMessaging(Schema, typeof(Program).Assembly, routes =>
        {
            // Commissions computed by Messaging.Worker come back here for the read models.
            routes.ListenToRabbitQueue(Queues.TrackingApi);
            // Runtime.Api's WorkspaceCreated: which workspace ids the public endpoints accept.
            routes.ListenToRabbitQueue(Queues.TrackingApiWorkspaces);

            routes.PublishMessage<VisitorLinkedToContact>().ToRabbitQueue(Queues.RuntimeApi);
            routes.PublishMessage<ConversionRecorded>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<ConversionRefunded>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<CampaignTrafficRecorded>().ToRabbitQueue(Queues.MessagingWorker);
            // The same conversion events also feed the local statistics handlers.
            routes.PublishMessage<ConversionRecorded>().ToLocalQueue(StatsQueue);
            routes.PublishMessage<ConversionRefunded>().ToLocalQueue(StatsQueue);
            routes.PublishMessage<ImpressionRecorded>().ToLocalQueue(StatsQueue);
            routes.LocalQueue(StatsQueue).UseDurableInbox();
        });

        builder.Services.AddSingleton(builder.Configuration.GetSection("RateLimits").Get<TrackingLimits>() ?? new TrackingLimits());
        builder.Services.AddSingleton<KnownWorkspaces>();
        builder.Services.AddSingleton<AttributionMetrics>();
        builder.Services.AddSingleton<CollectMetrics>();
        builder.Services.AddSingleton<CrmMetrics>();
        // Registered after the migrations (AddFunnelsPostgres): the workspace CRM secrets still in plain text are encrypted at start.
        builder.Services.AddHostedService<CrmSecretsAtStartup>();
        // The clock that stamps paid traffic (tests replace it to record clicks before or after a campaign's end).
        builder.Services.TryAddSingleton(TimeProvider.System);

        // t.js runs on customers' pages: public tracking endpoints accept any origin (no cookies are used).
        builder.Services.AddCors(cors => cors.AddPolicy(TrackingLimits.CorsPolicy, policy => policy
            .AllowAnyOrigin()
            .AllowAnyHeader()
            .WithMethods("GET", "POST")
            .WithExposedHeaders("Retry-After")));
    }
}
