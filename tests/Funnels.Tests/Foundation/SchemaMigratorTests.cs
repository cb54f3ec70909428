using Dapper;
using Funnels.ServiceDefaults.Data;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Tests.Foundation;

/// <summary>The migration runner, on this assembly's own two migrations (or a set held in memory) and a fresh schema per test.</summary>
public sealed class SchemaMigratorTests(Servers servers) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(servers.Postgres);
    private readonly string _schema = "migrations_" + Guid.NewGuid().ToString("N")[..10];
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private SchemaMigrator Migrator() => new(_dataSource, _schema, typeof(SchemaMigratorTests).Assembly);

    [Fact]
    public async Task Applies_migrations_in_version_order_then_a_rerun_is_a_no_op()
    {
        Assert.Equal([1, 2], await Migrator().MigrateAsync(Cancel));
        Assert.Empty(await Migrator().MigrateAsync(Cancel));

        await using var connection = await _dataSource.OpenConnectionAsync(Cancel);
        await connection.ExecuteAsync($"INSERT INTO {_schema}.things (id, name) VALUES (1, 'a')");
        Assert.Equal(["0001:create_things", "0002:add_thing_name"], await connection.QueryAsync<string>(
            $"SELECT lpad(version::text, 4, '0') || ':' || title FROM {_schema}.schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task Instances_starting_together_apply_each_migration_once()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Migrator().MigrateAsync(Cancel))));

        Assert.Equal([1, 2], runs.SelectMany(applied => applied).Order());
        await using var connection = await _dataSource.OpenConnectionAsync(Cancel);
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {_schema}.schema_migrations"));
    }

    [Fact]
    public async Task A_migration_changed_after_it_was_applied_stops_the_start()
    {
        await Migrator().MigrateAsync(Cancel);
        await using (var connection = await _dataSource.OpenConnectionAsync(Cancel))
        {
            await connection.ExecuteAsync($"UPDATE {_schema}.schema_migrations SET checksum = 'edited' WHERE version = 2");
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Migrator().MigrateAsync(Cancel));

        Assert.Contains("Migration 2 (add_thing_name)", error.Message);
    }

    [Fact]
    public async Task A_failing_migration_leaves_nothing_half_applied()
    {
        // Migration 1 applies; migration 2 changes the table, writes a row, then fails on its last statement.
        var migrations = new MigrationSet(
            ("0001_create_things", "CREATE TABLE things (id integer PRIMARY KEY);"),
            ("0002_add_thing_name", "ALTER TABLE things ADD COLUMN name text NOT NULL DEFAULT ''; INSERT INTO things VALUES (1, 'a'); SELECT 1 / 0;"));

        var error = await Assert.ThrowsAsync<PostgresException>(() => new SchemaMigrator(_dataSource, _schema, migrations).MigrateAsync(Cancel));

        Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
        await using var check = await _dataSource.OpenConnectionAsync(Cancel);
        // Migration 1 stays applied (its own transaction); nothing of migration 2 is left: no record, column or row.
        Assert.Equal([1], await check.QueryAsync<int>($"SELECT version FROM {_schema}.schema_migrations ORDER BY version"));
        Assert.Equal(["id"], await check.QueryAsync<string>(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = @schema AND table_name = 'things'", new { schema = _schema }));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>($"SELECT count(*) FROM {_schema}.things"));
    }

    public async ValueTask DisposeAsync()
    {
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        }
        await _dataSource.DisposeAsync();
    }
}
