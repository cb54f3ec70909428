using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using Funnels.ServiceDefaults.Data;
using Funnels.ServiceDefaults.RateLimiting;

namespace Funnels.ServiceDefaults.Caching;

public static class RedisExtensions
{
    // The AppHost resource name, and so the connection-string name (ConnectionStrings__redis).
    public const string ConnectionName = "redis";

    /// <summary>
    /// Redis holds rate limits, caches and short dedupe windows, never the only copy of
    /// anything: the service starts and keeps serving while Redis is down (abortConnect=false),
    /// and health reports it as degraded rather than unhealthy.
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsRedis(this IHostApplicationBuilder builder)
    {
        var options = ConfigurationOptions.Parse(builder.Configuration.GetRequiredConnectionString(ConnectionName));
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2_000;
        options.SyncTimeout = 1_000;
        options.AsyncTimeout = 1_000;

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddSingleton<RateLimiter>();
        builder.Services.AddHealthChecks().AddRedis(
            sp => sp.GetRequiredService<IConnectionMultiplexer>(), name: ConnectionName, failureStatus: HealthStatus.Degraded);
        return builder;
    }
}
