using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Funnels.ServiceDefaults.RateLimiting;

namespace Funnels.ServiceDefaults.Caching;

public static class RedisExtensions
{
    // The AppHost resource name, and so the connection-string name (ConnectionStrings__redis).
    public const string ConnectionName = "redis";

    /// <summary>
    /// Redis holds rate limits, caches and short dedupe windows, never the only copy of
    /// anything: the service starts and keeps serving while Redis is down (abortConnect=false,
    /// which Aspire's integration also defaults to), and health reports it as degraded rather
    /// than unhealthy.
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsRedis(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient(ConnectionName, configureOptions: options =>
        {
            options.AbortOnConnectFail = false;
            // Short: a slow or absent Redis must not hold requests up (the rate limiter then decides in process).
            options.ConnectTimeout = 2_000;
            options.SyncTimeout = 1_000;
            options.AsyncTimeout = 1_000;
        });
        builder.Services.AddSingleton<RateLimiter>();
        builder.RenameHealthCheck("StackExchange.Redis", ConnectionName, HealthStatus.Degraded);
        return builder;
    }
}
