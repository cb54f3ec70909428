using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Funnels.Runtime.Funnels;
using Npgsql;

namespace Funnels.Runtime.Events;

public sealed record LivePublication(Guid FunnelId, Guid WorkspaceId, Guid PublicationId, int Version, string[] AllowedOrigins, FunnelSchema Schema);

/// <summary>
/// Finds the live publication behind a public slug. The slug is looked up every time, so an
/// unpublish takes effect at once; the parsed schema is cached by publication id, which is safe
/// because a publication never changes.
/// </summary>
public sealed class PublishedFunnels(NpgsqlDataSource dataSource)
{
    private static readonly ConcurrentDictionary<Guid, FunnelSchema> Schemas = new();

    public async Task<LivePublication?> FindLiveAsync(string slug, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("""
            SELECT f.id AS funnel_id, f.workspace_id, p.id AS publication_id, p.version, f.allowed_origins
            FROM runtime.funnels f JOIN runtime.publications p ON p.id = f.live_publication_id
            WHERE f.slug = @slug
            """, new { slug }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }
        var schema = await SchemaAsync(connection, row.PublicationId, cancellationToken);
        return new LivePublication(row.FunnelId, row.WorkspaceId, row.PublicationId, row.Version, row.AllowedOrigins, schema);
    }

    public static async Task<FunnelSchema> SchemaAsync(NpgsqlConnection connection, Guid publicationId, CancellationToken cancellationToken)
    {
        if (Schemas.TryGetValue(publicationId, out var cached))
        {
            return cached;
        }
        var json = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT schema::text FROM runtime.publications WHERE id = @publicationId", new { publicationId }, cancellationToken: cancellationToken));
        var schema = JsonSerializer.Deserialize<FunnelSchema>(json!, FunnelSchema.Json)!;
        return Schemas.GetOrAdd(publicationId, schema);
    }

    // Settable properties: Dapper's constructor matching cannot take text[] columns.
    private sealed class Row
    {
        public Guid FunnelId { get; init; }
        public Guid WorkspaceId { get; init; }
        public Guid PublicationId { get; init; }
        public int Version { get; init; }
        public string[] AllowedOrigins { get; init; } = [];
    }
}
