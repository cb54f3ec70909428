using System.Security.Cryptography;
using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;

namespace Funnels.Tests.Faults;

/// <summary>
/// What "nothing written" means beyond row counts (an update or a delete plus an insert leaves a
/// count unchanged): PostgreSQL's own per-table counters of rows inserted, updated and deleted in
/// the product's schemas (pg_stat_user_tables; an insert rolled back counts too), and a digest of
/// every Redis key but the rate limits' counters (which a refused request may raise).
/// </summary>
public static class ChangeCounters
{
    /// <summary>
    /// The counters, once the services' idle connections are closed and looks a second apart agree
    /// eleven times running. A backend reports its counts when it goes idle, but at most once a second,
    /// else only after 10 s more idle time (pg_stat_force_next_flush() flushes only the caller's);
    /// a backend that exits reports at once, so the in-process services' pools are cleared first.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, long>> SettledAsync(Servers servers, TimeSpan within, params IServiceProvider[] services)
    {
        // A pool not cleared here (a host another test left, Admin.Web's) may hold a backend whose last
        // writes wait for PostgreSQL's 10 s idle flush: agreeing for longer than that sees them.
        const int QuietReads = 11;
        foreach (var service in services)
        {
            (service.GetService(typeof(NpgsqlDataSource)) as NpgsqlDataSource)?.Clear();
        }
        IReadOnlyDictionary<string, long>? previous = null;
        var agreed = 0;
        return await Eventually.Until(async () =>
        {
            var current = await TakeAsync(servers);
            agreed = previous is not null && TableCounts.Changes(previous, current).Count == 0 ? agreed + 1 : 0;
            previous = current;
            if (agreed < QuietReads) await Task.Delay(1000, TestContext.Current.CancellationToken);
            return agreed >= QuietReads ? current : null;
        }, within, "PostgreSQL's change counters to settle");
    }

    public static async Task<IReadOnlyDictionary<string, long>> TakeAsync(Servers servers)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await connection.ExecuteAsync("SELECT pg_stat_clear_snapshot()");
        var rows = await connection.QueryAsync<(string Table, long Inserted, long Updated, long Deleted)>("""
            SELECT format('%I.%I', schemaname, relname), n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables
            WHERE schemaname IN ('runtime', 'tracking', 'messaging')
            """);
        return rows.SelectMany(r => new[]
        {
            KeyValuePair.Create($"{r.Table} inserted", r.Inserted), KeyValuePair.Create($"{r.Table} updated", r.Updated),
            KeyValuePair.Create($"{r.Table} deleted", r.Deleted),
        }).ToDictionary();
    }

    /// <summary>Every Redis key but the rate limits' (ratelimit:*), with a digest of its value (DUMP).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> RedisAsync(IConnectionMultiplexer redis)
    {
        var database = redis.GetDatabase();
        var keyspace = new Dictionary<string, string>();
        foreach (var server in redis.GetServers())
        {
            await foreach (var key in server.KeysAsync(database.Database, "*"))
            {
                if (key.ToString().StartsWith("ratelimit:", StringComparison.Ordinal)) continue;
                var dump = await database.KeyDumpAsync(key);
                keyspace[key.ToString()] = dump is null ? "(gone)" : Convert.ToHexStringLower(SHA256.HashData(dump));
            }
        }
        return keyspace;
    }

    /// <summary>Keys added, removed or changed, as "key: added" and so on.</summary>
    public static List<string> RedisChanges(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after) =>
        before.Keys.Union(after.Keys)
            .Select(k => (Key: k, Before: before.GetValueOrDefault(k), After: after.GetValueOrDefault(k)))
            .Where(k => k.Before != k.After)
            .Select(k => $"{k.Key}: {(k.Before is null ? "added" : k.After is null ? "removed" : "changed")}")
            .ToList();
}
