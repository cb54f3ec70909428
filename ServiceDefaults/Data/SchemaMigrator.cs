using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

/// <summary>
/// Applies a service's SQL migrations in version order. Each migration is an embedded
/// resource named like <c>Leads/Migrations/0003_add_lead_state.sql</c>, living next to the
/// feature that owns the table; the number is the version and is unique across the service.
/// Runs under a PostgreSQL advisory lock so two instances never race; a rerun is a no-op.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, string schema, Assembly assembly)
{
    public string Schema { get; } = schema;

    public IReadOnlyList<Migration> Discover()
    {
        var migrations = assembly.GetManifestResourceNames()
            .Select(name => (name, match: MigrationName().Match(name)))
            .Where(x => x.match.Success)
            .Select(x => new Migration(int.Parse(x.match.Groups["version"].Value), x.match.Groups["title"].Value, Read(x.name)))
            .OrderBy(m => m.Version)
            .ToList();

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two migrations of schema '{Schema}' share version {duplicate.Key}: {string.Join(", ", duplicate.Select(m => m.Title))}.");
        }
        return migrations;
    }

    /// <summary>Applies what is missing; returns the versions it applied.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = Discover();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        // Session-level lock, keyed by schema: a second instance waits here, then finds nothing to do.
        await Execute(connection, "SELECT pg_advisory_lock(hashtext('funnels.migrations.' || @schema))", cancellationToken);
        try
        {
            await Execute(connection, $"""
                CREATE SCHEMA IF NOT EXISTS {Schema};
                CREATE TABLE IF NOT EXISTS {Schema}.schema_migrations (
                    version     integer PRIMARY KEY,
                    title       text NOT NULL,
                    checksum    text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                );
                -- Every consumer of the service records what it has processed here (ProcessedMessages).
                CREATE TABLE IF NOT EXISTS {Schema}.processed_messages (
                    consumer      text NOT NULL,
                    message_key   text NOT NULL,
                    processed_at  timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer, message_key)
                );
                """, cancellationToken);

            var applied = await AppliedAsync(connection, cancellationToken);
            var done = new List<int>();
            foreach (var migration in migrations)
            {
                if (applied.TryGetValue(migration.Version, out var checksum))
                {
                    // An applied migration that changed is a mistake: migrations are append-only.
                    if (checksum != migration.Checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Version} ({migration.Title}) of schema '{Schema}' changed after it was applied. Add a new migration instead.");
                    }
                    continue;
                }
                await ApplyAsync(connection, migration, cancellationToken);
                done.Add(migration.Version);
            }
            return done;
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(hashtext('funnels.migrations.' || @schema))", CancellationToken.None);
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand($"SET LOCAL search_path TO {Schema}, public;\n{migration.Sql}", connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var record = new NpgsqlCommand(
            $"INSERT INTO {Schema}.schema_migrations (version, title, checksum) VALUES (@version, @title, @checksum)", connection, transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("title", migration.Title);
            record.Parameters.AddWithValue("checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<Dictionary<int, string>> AppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT version, checksum FROM {Schema}.schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var applied = new Dictionary<int, string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = reader.GetString(1);
        }
        return applied;
    }

    private async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("schema", Schema);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private string Read(string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    // Embedded resource names use dots for folders: Funnels.Runtime.Leads.Migrations.0003_add_lead_state.sql
    [GeneratedRegex(@"\.Migrations\.(?<version>\d+)_(?<title>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationName();

    public sealed record Migration(int Version, string Title, string Sql)
    {
        public string Checksum { get; } = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));
    }
}
