using System.Collections.Concurrent;
using System.Diagnostics;

namespace Funnels.Bench;

/// <summary>What a load loop saw: successful operations, failures, and each success's latency.</summary>
public sealed record LoadResult(int Succeeded, int Failed, TimeSpan Elapsed, IReadOnlyList<double> LatenciesMs)
{
    public double PerSecond => Succeeded / Elapsed.TotalSeconds;

    public double Percentile(double p) => Stats.Percentile(LatenciesMs, p);
}

/// <summary>
/// Bounded load loops: each stops by itself after its duration (or count), whatever the system
/// under test does. An operation returns true when the system accepted it.
/// </summary>
public static class Load
{
    /// <summary>Saturation: <paramref name="clients"/> loops, each sending the next request as soon as the last is answered.</summary>
    public static async Task<LoadResult> ClosedAsync(int clients, TimeSpan duration, Func<int, Task<bool>> operation)
    {
        var next = -1;
        var succeeded = 0;
        var failed = 0;
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                if (await Safely(operation, Interlocked.Increment(ref next)))
                {
                    Interlocked.Increment(ref succeeded);
                    latencies.Add((clock.Elapsed - started).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));
        return new LoadResult(succeeded, failed, clock.Elapsed, latencies.ToList());
    }

    /// <summary>
    /// Open loop at a fixed arrival rate: request i is due at i / rate seconds and is sent then,
    /// however slow earlier ones are; its latency counts from when it was due, so a stalled
    /// system shows in the figures instead of slowing the arrivals (no coordinated omission).
    /// </summary>
    public static async Task<LoadResult> OpenAsync(double perSecond, int count, Func<int, Task<bool>> operation)
    {
        var succeeded = 0;
        var failed = 0;
        var latencies = new ConcurrentBag<double>();
        var inFlight = new List<Task>(count);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var index = i;
            inFlight.Add(Task.Run(async () =>
            {
                if (await Safely(operation, index))
                {
                    Interlocked.Increment(ref succeeded);
                    latencies.Add((clock.Elapsed - due).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }));
        }

        await Task.WhenAll(inFlight);
        return new LoadResult(succeeded, failed, clock.Elapsed, latencies.ToList());
    }

    /// <summary>Runs every operation with at most <paramref name="clients"/> at once (set-up work).</summary>
    public static async Task<int> AllAsync(int count, int clients, Func<int, Task<bool>> operation)
    {
        var next = -1;
        var failed = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                if (!await Safely(operation, i))
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));
        return failed;
    }

    /// <summary>Polls until the condition holds or the deadline passes; returns whether it held.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? every = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
        return await condition();
    }

    private static async Task<bool> Safely(Func<int, Task<bool>> operation, int index)
    {
        try
        {
            return await operation(index);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}

public static class Stats
{
    /// <summary>Nearest-rank percentile; NaN for no samples.</summary>
    public static double Percentile(IReadOnlyList<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }
        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
