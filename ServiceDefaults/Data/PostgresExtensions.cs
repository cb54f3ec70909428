using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Dapper;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

public static class PostgresExtensions
{
    // The AppHost's database resource, and so the connection-string name (ConnectionStrings__funnels).
    public const string ConnectionName = "funnels";

    /// <summary>
    /// The service's one NpgsqlDataSource, from Aspire's Npgsql integration (its health check, traces and
    /// metrics come with it; the container disposes the pool when the host goes), and the migrations of its
    /// schema, which run at start-up before anything else (messaging included) touches the database.
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsPostgres(this IHostApplicationBuilder builder, string schema, Assembly migrationsAssembly)
    {
        // Columns are snake_case, properties PascalCase: let Dapper map requested_at to RequestedAt.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.AddNpgsqlDataSource(ConnectionName, configureDataSourceBuilder: dataSource =>
        {
            dataSource.Name = builder.Environment.ApplicationName;
            ApplyPoolSettings(dataSource.ConnectionStringBuilder, builder.Configuration);
        });
        builder.Services.AddSingleton(sp => new SchemaMigrator(sp.GetRequiredService<NpgsqlDataSource>(), schema, migrationsAssembly));
        builder.Services.AddHostedService<SchemaMigrationsAtStartup>();
        builder.RenameHealthCheck("PostgreSql", "postgres");
        return builder;
    }

    /// <summary>
    /// Postgres:MaxPoolSize caps the service's pool (Npgsql's default is 100), so the services
    /// sharing one server, several instances each, stay under its max_connections together.
    /// Postgres:MaxAutoPrepare: the same few statements run for every lead, click and message, and
    /// PostgreSQL parsing and planning each one anew was a large share of its CPU (bench/README.md),
    /// so Npgsql prepares a connection's most used statements (0 turns it off).
    /// </summary>
    private static void ApplyPoolSettings(NpgsqlConnectionStringBuilder settings, IConfiguration configuration)
    {
        if (configuration.GetValue<int?>("Postgres:MaxPoolSize") is { } cap)
        {
            settings.MaxPoolSize = cap;
        }
        settings.MaxAutoPrepare = configuration.GetValue("Postgres:MaxAutoPrepare", 100);
        settings.AutoPrepareMinUsages = 2;
    }
}
