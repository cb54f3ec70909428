using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Dapper;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

public static class PostgresExtensions
{
    // The AppHost resource name, and so the connection-string name (ConnectionStrings__postgres).
    public const string ConnectionName = "postgres";

    /// <summary>
    /// Registers one NpgsqlDataSource for the service and the migrations of its schema, which run
    /// at start-up before anything else (messaging included) touches the database.
    /// </summary>
    public static NpgsqlDataSource AddFunnelsPostgres(this IHostApplicationBuilder builder, string schema, Assembly migrationsAssembly)
    {
        var connectionString = builder.Configuration.GetRequiredConnectionString(ConnectionName);
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

    public static string GetRequiredConnectionString(this IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"Connection string '{name}' is missing: set ConnectionStrings__{name} (AppHost does this for you).");
}
