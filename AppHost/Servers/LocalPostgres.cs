using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Funnels.AppHost.Servers;

/// <summary>
/// PostgreSQL 15 from Debian's package as an Aspire executable: the same connection string
/// (superuser <c>postgres</c>, a password parameter) as Aspire's <c>AddPostgres</c> container,
/// on loopback, with its cluster in a data folder of its own.
/// </summary>
public sealed class LocalPostgresResource(string name, ParameterResource password, string folder)
    : ExecutableResource(name, "/bin/sh", folder), IResourceWithConnectionString
{
    public const string UserName = "postgres";

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ParameterResource PasswordParameter { get; } = password;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.IPV4Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={PasswordParameter}");
}

/// <summary>A database on a <see cref="LocalPostgresResource"/>, created when the server first becomes ready.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresResource>, IResourceWithConnectionString
{
    public LocalPostgresResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class LocalPostgresExtensions
{
    /// <summary>PostgreSQL 15 on <paramref name="folder"/>; a null port lets Aspire choose a free one.</summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, string folder, int? port, ServerBinaries binaries)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        builder.AddResource(password);
        var server = new LocalPostgresResource(name, password, ServerFolders.Create(folder));

        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, ct => ServerHealth.PostgresAsync(server, "postgres", ct));

        return builder.AddResource(server)
            .WithEndpoint(name: "tcp", scheme: "tcp", port: port, targetPort: port, isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add(Path.Combine(AppContext.BaseDirectory, "Servers", "postgres.sh"));
                context.Args.Add(binaries.PostgresBin);
                context.Args.Add(server.WorkingDirectory);
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithEnvironment("POSTGRES_PASSWORD", password)
            .WithIconName("DatabaseMultiple")
            .WithHealthCheck(healthCheck);
    }

    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresResource> server, string name, string? databaseName = null)
    {
        var database = new LocalPostgresDatabaseResource(name, databaseName ?? name, server.Resource);

        var healthCheck = $"{name}_check";
        server.ApplicationBuilder.Services.AddHealthChecks()
            .AddAsyncCheck(healthCheck, ct => ServerHealth.PostgresAsync(server.Resource, database.DatabaseName, ct));
        // Aspire gives a container's children its state, not an executable's: the database says
        // Running itself once the server is ready and the database exists (WaitFor needs Running).
        server.ApplicationBuilder.Eventing.Subscribe<ResourceReadyEvent>(server.Resource, async (e, ct) =>
        {
            await CreateDatabaseAsync(server.Resource, database.DatabaseName, ct);
            await e.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, snapshot => snapshot with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            });
        });
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "PostgresDatabase", State = KnownResourceStates.Waiting, Properties = [] })
            .WithIconName("Database")
            .WithHealthCheck(healthCheck);
    }

    /// <summary>Like Aspire's AddDatabase: the database exists before anything waiting for it starts.</summary>
    private static async Task CreateDatabaseAsync(LocalPostgresResource server, string database, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(await server.ConnectionStringExpression.GetValueAsync(ct)) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = database } } };
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            // A name cannot be a parameter; it is ours (the topology's), quoted as an identifier.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
    }
}
