using Funnels.ServiceDefaults.Caching;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;

namespace Funnels.Tracking.Extensions;

internal static class Extensions
{
    // Tracking.Api owns the "tracking" schema; Wolverine's envelopes live in "tracking_wolverine".
    public const string Schema = "tracking";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var dataSource = builder.AddFunnelsPostgres(Schema, typeof(Program).Assembly);
        builder.AddFunnelsRedis();
        builder.AddFunnelsAuthentication();
        builder.AddFunnelsMessaging(dataSource, Schema, typeof(Program).Assembly);
    }
}
