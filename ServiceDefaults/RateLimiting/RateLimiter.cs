using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Funnels.ServiceDefaults.RateLimiting;

public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter);

/// <summary>One limit to count a hit against: at most <paramref name="Limit"/> per <paramref name="Window"/> for <paramref name="Key"/>.</summary>
public readonly record struct RateLimitKey(string Key, int Limit, TimeSpan Window);

/// <summary>
/// Fixed-window limits shared by every instance through Redis. Redis is never the only copy of
/// anything and must not take the public endpoints down with it: when it cannot answer, the
/// limit is kept per process instead (and the fallback is logged and counted).
/// </summary>
public sealed class RateLimiter(IConnectionMultiplexer redis, ILogger<RateLimiter> logger, IMeterFactory meters)
{
    // For each key in order: INCR, set the expiry on the first hit of a window, and stop at the
    // first key over its limit (the keys after it are not counted, as separate calls would not
    // have been). Returns { 1, 0, 0 } when every key allowed, else { 0, index (1-based), PTTL }.
    // One round trip for any number of keys (a single Redis, not a cluster: keys in other slots).
    private const string Script = """
        for i, key in ipairs(KEYS) do
          local count = redis.call('INCR', key)
          if count == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
          if count > tonumber(ARGV[2 * i - 1]) then return { 0, i, redis.call('PTTL', key) } end
        end
        return { 1, 0, 0 }
        """;

    private readonly ConcurrentDictionary<string, LocalWindow> _local = new();
    // 1 while Redis is away: the switch is logged once each way, not once per request.
    private int _keptInProcess;
    private readonly Counter<long> _fallbacks = meters.Create("Funnels.RateLimiting").CreateCounter<long>("funnels.rate_limit.redis_fallbacks");
    private readonly Counter<long> _rejections = meters.Create("Funnels.RateLimiting").CreateCounter<long>("funnels.rate_limit.rejections");

    public async Task<RateLimitDecision> TryAcquireAsync(string key, int limit, TimeSpan window) =>
        (await TryAcquireAllAsync([new RateLimitKey(key, limit, window)])).Decision;

    /// <summary>
    /// Several limits in one round trip, in order; the first one over its limit refuses (its index
    /// in <paramref name="limits"/>, else -1) and the ones after it are not counted.
    /// </summary>
    public async Task<(RateLimitDecision Decision, int Refused)> TryAcquireAllAsync(IReadOnlyList<RateLimitKey> limits)
    {
        var result = await TryRedisAsync(limits) ?? Local(limits);
        if (!result.Decision.Allowed)
        {
            _rejections.Add(1);
        }
        return result;
    }

    /// <summary>
    /// Whether <paramref name="key"/> is already over <paramref name="limit"/>, without counting a hit:
    /// for limits on failures (wrong passwords), checked before the attempt and counted after it.
    /// </summary>
    public async Task<RateLimitDecision> PeekAsync(string key, int limit)
    {
        if (redis.IsConnected)
        {
            try
            {
                var database = redis.GetDatabase();
                var count = await database.StringGetAsync("ratelimit:" + key);
                if (!count.TryParse(out long hits) || hits < limit)
                {
                    return new RateLimitDecision(true, TimeSpan.Zero);
                }
                _rejections.Add(1);
                var ttl = await database.KeyTimeToLiveAsync("ratelimit:" + key);
                return new RateLimitDecision(false, ttl ?? TimeSpan.FromSeconds(1));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                KeptInProcess($"Redis did not answer for {key} ({ex.Message})");
            }
        }
        var now = DateTime.UtcNow;
        if (_local.TryGetValue(key, out var window) && window.EndsAt > now && window.Count >= limit)
        {
            _rejections.Add(1);
            return new RateLimitDecision(false, window.EndsAt - now);
        }
        return new RateLimitDecision(true, TimeSpan.Zero);
    }

    private async Task<(RateLimitDecision Decision, int Refused)?> TryRedisAsync(IReadOnlyList<RateLimitKey> limits)
    {
        if (!redis.IsConnected)
        {
            // Don't make every public request wait for Redis's timeout while it is away.
            KeptInProcess("Redis is not connected");
            return null;
        }
        try
        {
            var keys = limits.Select(l => new RedisKey("ratelimit:" + l.Key)).ToArray();
            var args = limits.SelectMany(l => new RedisValue[] { l.Limit, (long)l.Window.TotalMilliseconds }).ToArray();
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args))!;
            if (Interlocked.Exchange(ref _keptInProcess, 0) == 1)
            {
                logger.LogInformation("Redis answers again: rate limits are shared through it again");
            }
            return (long)result[0] == 1
                ? (new RateLimitDecision(true, TimeSpan.Zero), -1)
                : (new RateLimitDecision(false, TimeSpan.FromMilliseconds(Math.Max(0, (long)result[2]))), (int)(long)result[1] - 1);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            KeptInProcess($"Redis did not answer for {limits[0].Key} ({ex.Message})");
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

    private (RateLimitDecision Decision, int Refused) Local(IReadOnlyList<RateLimitKey> limits)
    {
        var now = DateTime.UtcNow;
        for (var i = 0; i < limits.Count; i++)
        {
            var (key, limit, window) = limits[i];
            var current = _local.AddOrUpdate(key,
                _ => new LocalWindow(now + window, 1),
                (_, w) => w.EndsAt <= now ? new LocalWindow(now + window, 1) : w with { Count = w.Count + 1 });
            if (current.Count > limit)
            {
                return (new RateLimitDecision(false, current.EndsAt - now), i);
            }
        }
        if (_local.Count > 100_000)
        {
            // Keep memory bounded while Redis is away: forget windows that have ended.
            foreach (var stale in _local.Where(p => p.Value.EndsAt <= now))
            {
                _local.TryRemove(stale.Key, out _);
            }
        }
        return (new RateLimitDecision(true, TimeSpan.Zero), -1);
    }

    private sealed record LocalWindow(DateTime EndsAt, int Count);
}
