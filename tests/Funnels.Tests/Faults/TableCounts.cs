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

    /// <summary>
    /// Counts once nothing is moving any more: no envelope waits in any service's outbox or inbox
    /// (scheduled ones due within a minute count as waiting), no message waits in a RabbitMQ queue
    /// between the services, and the counts are the same as at the previous look. Earlier tests'
    /// messages and the services' start-up announcements have then settled. Fails, saying what is
    /// still moving, if that does not happen within the bound.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, long>> SettledAsync(Servers servers, TimeSpan within)
    {
        IReadOnlyDictionary<string, long>? previous = null;
        var moving = new List<string>();
        return await Eventually.Until(async () =>
        {
            var current = await TakeAsync(servers);
            moving = [.. await WaitingEnvelopesAsync(servers), .. await servers.QueuedMessagesAsync()];
            if (previous is not null) moving.AddRange(Changes(previous, current));
            var settled = previous is not null && moving.Count == 0;
            previous = current;
            if (!settled) await Task.Delay(400, TestContext.Current.CancellationToken);
            return settled ? current : null;
        }, within, () => $"the tables to settle; still moving: {string.Join(", ", moving)}");
    }

    /// <summary>Envelopes not yet sent or handled, per *_wolverine schema, as "schema: n waiting".</summary>
    private static async Task<List<string>> WaitingEnvelopesAsync(Servers servers)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        var schemas = await connection.QueryAsync<string>(
            "SELECT table_schema FROM information_schema.tables WHERE table_schema LIKE '%\\_wolverine' AND table_name = 'wolverine_incoming_envelopes'");
        var waiting = new List<string>();
        foreach (var schema in schemas)
        {
            var count = await connection.ExecuteScalarAsync<long>($"""
                SELECT (SELECT count(*) FROM {schema}.wolverine_outgoing_envelopes)
                     + (SELECT count(*) FROM {schema}.wolverine_incoming_envelopes
                        WHERE status = 'Incoming' OR (status = 'Scheduled' AND execution_time < now() + interval '1 minute'))
                """);
            if (count > 0) waiting.Add($"{schema}: {count} envelopes waiting");
        }
        return waiting;
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
