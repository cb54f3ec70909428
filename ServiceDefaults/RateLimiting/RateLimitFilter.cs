using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.ServiceDefaults.RateLimiting;

/// <summary>A limit on a public endpoint: over it, 429 problem details with Retry-After.</summary>
public sealed record RateLimit(string Name, int Limit, TimeSpan Window, Func<HttpContext, string> Partition);

public static class RateLimitFilter
{
    public static TBuilder RequireRateLimit<TBuilder>(this TBuilder builder, RateLimit rule) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var limiter = http.RequestServices.GetRequiredService<RateLimiter>();
            var decision = await limiter.TryAcquireAsync($"{rule.Name}:{rule.Partition(http)}", rule.Limit, rule.Window);
            if (decision.Allowed)
            {
                return await next(context);
            }
            return TooManyRequests(http, decision,
                $"The limit of {rule.Limit} requests per {rule.Window.TotalSeconds:0} s for '{rule.Name}' was reached");
        });

    /// <summary>The answer over a limit: 429 problem details, with Retry-After in whole seconds (at least 1).</summary>
    public static IResult TooManyRequests(HttpContext http, RateLimitDecision decision, string reason)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString();
        return TypedResults.Problem(
            title: "Too many requests",
            detail: $"{reason}; retry after {seconds} s.",
            statusCode: StatusCodes.Status429TooManyRequests);
    }

    /// <summary>The caller's IP address (behind a proxy, configure forwarded headers first).</summary>
    public static string ClientIp(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
