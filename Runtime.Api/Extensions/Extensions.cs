using Funnels.Contracts;
using Funnels.Runtime.Events;
using Funnels.Runtime.Leads;
using Funnels.Runtime.WhatsApp;
using Funnels.Runtime.Workspaces;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wolverine;
using Wolverine.RabbitMQ;

namespace Funnels.Runtime.Extensions;

internal static class Extensions
{
    // Runtime.Api owns the "runtime" schema; Wolverine's envelopes live in "runtime_wolverine".
    public const string Schema = "runtime";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        // After the migrations (registered just above), before anyone signs in.
        builder.Services.AddHostedService<WorkspaceBootstrap>();
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(Schema, typeof(Program).Assembly, routes =>
        {
            routes.PublishMessage<WiringCheckRequested>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<LeadCaptured>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<LeadAdvanced>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<WhatsAppWebhookReceived>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<WhatsAppChannelClaimed>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<WhatsAppChannelReleased>().ToRabbitQueue(Queues.MessagingWorker);
            routes.PublishMessage<WorkspaceCreated>().ToRabbitQueue(Queues.TrackingApiWorkspaces);
            routes.ListenToRabbitQueue(Queues.RuntimeApi);
        });
        // After Wolverine (just above) has started, and after the default workspace exists: it publishes through the outbox.
        builder.Services.AddHostedService<WorkspaceAnnouncements>();
        builder.Services.AddHostedService<ChannelAnnouncements>();

        builder.Services.AddSingleton(builder.Configuration.GetSection("RateLimits").Get<PublicLimits>() ?? new PublicLimits());
        builder.Services.AddSingleton<PublishedFunnels>();
        builder.Services.TryAddSingleton<PasswordCheck>();
        builder.Services.AddSingleton(builder.Configuration.GetSection("WhatsApp").Get<WhatsAppSettings>() ?? new WhatsAppSettings());
        builder.Services.AddSingleton<GraphPhoneNumbers>();
        builder.Services.AddSingleton<ChannelCredentials>();
        builder.Services.AddSingleton<MetaWebhookMetrics>();
        builder.Services.AddHostedService<ChannelCredentialsListener>();
        // Channels' tokens and app secrets are stored encrypted: Data Protection, its key ring in
        // runtime.data_protection_keys (this service owns it and creates the keys), the keys encrypted with Secrets:EncryptionKey.
        builder.AddFunnelsSecrets(createsKeys: true);
        builder.Services.AddSingleton<EventMetrics>();
        // Lead tokens (the 202's read-the-state capability) are signed with a key derived from Auth:SigningKey.
        builder.Services.AddSingleton(builder.Configuration.GetSection("Leads").Get<LeadTokenSettings>() ?? new LeadTokenSettings());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<LeadTokens>();
        builder.Services.AddHostedService<IdempotencyKeyExpiry>();

        // Browsers may post events from any page; which origins a funnel accepts is checked
        // per funnel in the endpoint (allowed_origins), where the slug is known. Only the public
        // write endpoint uses this policy: no read of a lead echoes an origin (LeadsApi, LeadStateApi).
        builder.Services.AddCors(cors => cors.AddPolicy(EventsApi.CorsPolicy, policy => policy
            .SetIsOriginAllowed(_ => true)
            .AllowAnyHeader()
            .WithMethods("POST")
            .WithExposedHeaders("Idempotent-Replayed", "Retry-After")));
        // The lead-state read allows only its funnel's listed origins, looked up per lead (LeadStateCorsPolicyProvider).
        builder.Services.AddSingleton<ICorsPolicyProvider, LeadStateCorsPolicyProvider>();
    }
}
