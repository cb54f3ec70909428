using Funnels.Contracts;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Wolverine;
using Wolverine.RabbitMQ;

namespace Funnels.Messaging.Extensions;

internal static class Extensions
{
    // Messaging.Worker owns the "messaging" schema; Wolverine's envelopes live in "messaging_wolverine".
    public const string Schema = "messaging";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var dataSource = builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(dataSource, Schema, typeof(Program).Assembly, routes =>
        {
            routes.ListenToRabbitQueue(Queues.MessagingWorker);
        });
    }
}
