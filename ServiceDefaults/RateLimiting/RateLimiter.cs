using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Funnels.ServiceDefaults.RateLimiting;

public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter);

/// <summary>
/// Fixed-window limits shared by every instance through Redis. Redis is never the only copy of
/// anything and must not take the public endpoints down with it: when it cannot answer, the
/// limit is kept per process instead (and the fallback is logged and counted).
/// </summary>
public sealed class RateLimiter(IConnectionMultiplexer redis, ILogger<RateLimiter> logger, IMeterFactory meters)
{
    // INCR then set the expiry on the first hit of a window, atomically.
    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return { count, redis.call('PTTL', KEYS[1]) }
        """;

    private readonly ConcurrentDictionary<string, LocalWindow> _local = new();
    // 1 while Redis is away: the switch is logged once each way, not once per request.
    private int _keptInProcess;
    private readonly Counter<long> _fallbacks = meters.Create("Funnels.RateLimiting").CreateCounter<long>("funnels.rate_limit.redis_fallbacks");
    private readonly Counter<long> _rejections = meters.Create("Funnels.RateLimiting").CreateCounter<long>("funnels.rate_limit.rejections");

    public async Task<RateLimitDecision> TryAcquireAsync(string key, int limit, TimeSpan window)
    {
        var decision = await TryRedisAsync(key, limit, window) ?? Local(key, limit, window);
        if (!decision.Allowed)
        {
            _rejections.Add(1);
        }
        return decision;
    }

    private async Task<RateLimitDecision?> TryRedisAsync(string key, int limit, TimeSpan window)
    {
        if (!redis.IsConnected)
        {
            // Don't make every public request wait for Redis's timeout while it is away.
            KeptInProcess("Redis is not connected");
            return null;
        }
        try
        {
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
                Script, [new RedisKey("ratelimit:" + key)], [(long)window.TotalMilliseconds]))!;
            var count = (long)result[0];
            var ttl = Math.Max(0, (long)result[1]);
            if (Interlocked.Exchange(ref _keptInProcess, 0) == 1)
            {
                logger.LogInformation("Redis answers again: rate limits are shared through it again");
            }
            return new RateLimitDecision(count <= limit, TimeSpan.FromMilliseconds(ttl));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            KeptInProcess($"Redis did not answer for {key} ({ex.Message})");
            return null;
        }
    }

    private void KeptInProcess(string reason)
    {
        _fallbacks.Add(1);
        if (Interlocked.Exchange(ref _keptInProcess, 1) == 0)
        {
            logger.LogWarning("Rate limits are kept per process until Redis answers again: {Reason}", reason);
        }
    }

    private RateLimitDecision Local(string key, int limit, TimeSpan window)
    {
        var now = DateTime.UtcNow;
        var current = _local.AddOrUpdate(key,
            _ => new LocalWindow(now + window, 1),
            (_, w) => w.EndsAt <= now ? new LocalWindow(now + window, 1) : w with { Count = w.Count + 1 });
        if (_local.Count > 100_000)
        {
            // Keep memory bounded while Redis is away: forget windows that have ended.
            foreach (var stale in _local.Where(p => p.Value.EndsAt <= now))
            {
                _local.TryRemove(stale.Key, out _);
            }
        }
        return new RateLimitDecision(current.Count <= limit, current.EndsAt - now);
    }

    private sealed record LocalWindow(DateTime EndsAt, int Count);
}
