using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Dapper;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

public static class PostgresExtensions
{
    // The AppHost database resource, and so the connection-string name (ConnectionStrings__funnels).
    public const string ConnectionName = "funnels";

    /// <summary>
    /// Registers one NpgsqlDataSource for the service and the migrations of its schema, which run
    /// at start-up before anything else (messaging included) touches the database.
    /// </summary>
    public static NpgsqlDataSource AddFunnelsPostgres(this IHostApplicationBuilder builder, string schema, Assembly migrationsAssembly)
    {
        var connectionString = WithPoolSettings(builder.Configuration.GetRequiredConnectionString(ConnectionName), builder.Configuration);
        // Columns are snake_case, properties PascalCase: let Dapper map requested_at to RequestedAt.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var dataSource = new NpgsqlDataSourceBuilder(connectionString)
        {
            Name = builder.Environment.ApplicationName,
        }.Build();

        builder.Services.AddSingleton(dataSource);
        builder.Services.AddHostedService(_ => new DataSourceLifetime(dataSource));
        builder.Services.AddSingleton(new SchemaMigrator(dataSource, schema, migrationsAssembly));
        builder.Services.AddHostedService<SchemaMigrationsAtStartup>();
        builder.Services.AddHealthChecks().AddNpgSql(connectionString, name: ConnectionName);
        return dataSource;
    }

    /// <summary>
    /// Postgres:MaxPoolSize caps the service's pool (Npgsql's default is 100), so the services
    /// sharing one server, several instances each, stay under its max_connections together.
    /// Postgres:MaxAutoPrepare: the same few statements run for every lead, click and message, and
    /// PostgreSQL parsing and planning each one anew was a large share of its CPU (bench/README.md),
    /// so Npgsql prepares a connection's most used statements (0 turns it off).
    /// </summary>
    private static string WithPoolSettings(string connectionString, IConfiguration configuration)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (configuration.GetValue<int?>("Postgres:MaxPoolSize") is { } cap)
        {
            settings.MaxPoolSize = cap;
        }
        settings.MaxAutoPrepare = configuration.GetValue("Postgres:MaxAutoPrepare", 100);
        settings.AutoPrepareMinUsages = 2;
        return settings.ConnectionString;
    }

    public static string GetRequiredConnectionString(this IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"Connection string '{name}' is missing: set ConnectionStrings__{name} (AppHost does this for you).");
}
