using Funnels.Contracts;
using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Wolverine;
using Wolverine.RabbitMQ;

namespace Funnels.Runtime.Extensions;

internal static class Extensions
{
    // Runtime.Api owns the "runtime" schema; Wolverine's envelopes live in "runtime_wolverine".
    public const string Schema = "runtime";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var dataSource = builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(dataSource, Schema, typeof(Program).Assembly, routes =>
        {
            routes.PublishMessage<WiringCheckRequested>().ToRabbitQueue(Queues.MessagingWorker);
        });
    }
}
