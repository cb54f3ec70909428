using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Tests.Faults;

/// <summary>
/// Row counts of every table the services write: the runtime, tracking and messaging schemas, and
/// Wolverine's envelope tables (outgoing, incoming, scheduled, dead letters) in their *_wolverine
/// schemas. Wolverine's own cluster bookkeeping is left out, since it changes by itself on a timer
/// (node heartbeats, agent assignments, leader locks, the control queue between nodes).
/// </summary>
public static class TableCounts
{
    public static readonly string[] Bookkeeping =
        ["wolverine_nodes", "wolverine_node_assignments", "wolverine_node_records", "wolverine_control_queue", "wolverine_agent_restrictions"];

    public static async Task<IReadOnlyDictionary<string, long>> TakeAsync(Servers servers)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        var tables = (await connection.QueryAsync<string>("""
            SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
            WHERE table_type = 'BASE TABLE'
              AND (table_schema IN ('runtime', 'tracking', 'messaging') OR table_schema LIKE '%\_wolverine')
              AND table_name <> ALL (@bookkeeping)
            ORDER BY 1
            """, new { bookkeeping = Bookkeeping })).ToList();
        var counts = await connection.QueryAsync<(string Table, long Rows)>(
            string.Join("\nUNION ALL ", tables.Select(t => $"SELECT '{t}', count(*) FROM {t}")));
        return counts.ToDictionary(c => c.Table, c => c.Rows);
    }

    /// <summary>Counts once nothing is moving any more (earlier tests' messages settled), bounded in time.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> SettledAsync(Servers servers, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var previous = await TakeAsync(servers);
        while (true)
        {
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            var current = await TakeAsync(servers);
            if (Changes(previous, current).Count == 0 || DateTime.UtcNow > deadline)
            {
                return current;
            }
            previous = current;
        }
    }

    /// <summary>Tables whose count differs, as "table: before -> after".</summary>
    public static List<string> Changes(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        before.Keys.Union(after.Keys)
            .Select(t => (Table: t, Before: before.GetValueOrDefault(t), After: after.GetValueOrDefault(t)))
            .Where(c => c.Before != c.After)
            .Select(c => $"{c.Table}: {c.Before} -> {c.After}")
            .ToList();

    /// <summary>Tables that gained rows.</summary>
    public static List<string> Grown(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.Where(a => a.Value > before.GetValueOrDefault(a.Key)).Select(a => $"{a.Key}: {before.GetValueOrDefault(a.Key)} -> {a.Value}").ToList();
}
