using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Funnels.Runtime.Funnels;
using Npgsql;

namespace Funnels.Runtime.Events;

public sealed record LivePublication(Guid FunnelId, Guid WorkspaceId, Guid PublicationId, int Version, string[] AllowedOrigins, FunnelSchema Schema);

/// <summary>
/// Finds the live publication behind a public slug. Every public event needs it, so a found one
/// is kept in process for <see cref="CacheFor"/>: a change made through this instance forgets
/// them at once (<see cref="Forget"/>), a change made through another instance is seen here
/// within <see cref="CacheFor"/>. Unknown and unpublished slugs are not kept, so a publish is
/// seen at once everywhere. The parsed schema is cached by publication id for good, which is
/// safe because a publication never changes.
/// </summary>
public sealed class PublishedFunnels(NpgsqlDataSource dataSource)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<Guid, FunnelSchema> Schemas = new();
    private readonly ConcurrentDictionary<string, Cached> _bySlug = new(StringComparer.Ordinal);
    // Bumped by Forget: a lookup that started before a change must not cache what it read.
    private long _generation;

    public async Task<LivePublication?> FindLiveAsync(string slug, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_bySlug.TryGetValue(slug, out var hit) && hit.ExpiresAt > now)
        {
            return hit.Publication;
        }
        var generation = Interlocked.Read(ref _generation);
        var live = await LoadAsync(slug, cancellationToken);
        if (live is null)
        {
            _bySlug.TryRemove(slug, out _);
            return null;
        }
        var entry = new Cached(live, now + (long)CacheFor.TotalMilliseconds);
        _bySlug[slug] = entry;
        if (Interlocked.Read(ref _generation) != generation)
        {
            // A change committed while this lookup ran: what it read may be older than the change.
            _bySlug.TryRemove(KeyValuePair.Create(slug, entry));
        }
        return live;
    }

    /// <summary>Called after a funnel's slug, origins or live publication changed through this instance.</summary>
    public void Forget()
    {
        Interlocked.Increment(ref _generation);
        _bySlug.Clear();
    }

    private async Task<LivePublication?> LoadAsync(string slug, CancellationToken cancellationToken)
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

    private sealed record Cached(LivePublication Publication, long ExpiresAt);

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
