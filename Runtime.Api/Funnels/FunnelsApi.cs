using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.Runtime.Events;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Runtime.Funnels;

/// <summary>Funnels of the caller's workspace: design, validate, publish, unpublish.</summary>
public static class FunnelsApi
{
    private const string Columns = """
        f.id, f.name, f.slug, f.schema::text AS schema_json, f.allowed_origins, f.live_publication_id,
        p.version AS live_version, f.revision, f.created_at, f.updated_at
        FROM runtime.funnels f LEFT JOIN runtime.publications p ON p.id = f.live_publication_id
        """;

    public static void MapFunnelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/funnels").WithTags("Funnels").RequireAuthorization(AuthenticationExtensions.AdminPolicy);

        api.MapGet("/", List).WithName("ListFunnels").WithSummary("The workspace's funnels, newest first, paged");
        api.MapGet("/{id:guid}", Get).WithName("GetFunnel");
        api.MapPost("/", Create).WithName("CreateFunnel").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPut("/{id:guid}", Update).WithName("UpdateFunnel").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapDelete("/{id:guid}", Delete).WithName("DeleteFunnel").WithSummary("Only a funnel without leads can be deleted")
            .RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPost("/validate", Validate).WithName("ValidateFunnelSchema").WithSummary("Check a schema without saving it; errors carry their JSON path");
        api.MapPost("/{id:guid}/publish", Publish).WithName("PublishFunnel")
            .WithSummary("Freeze the current schema as a new publication version, live under the funnel's slug")
            .RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPost("/{id:guid}/unpublish", Unpublish).WithName("UnpublishFunnel").WithSummary("Public events for the slug answer 404 until it is published again")
            .RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapGet("/{id:guid}/publications", Publications).WithName("ListPublications");
    }

    public static async Task<Ok<PagedList<Funnel>>> List(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<FunnelRow>(
            $"SELECT {Columns} WHERE f.workspace_id = @workspace ORDER BY f.created_at DESC, f.id LIMIT @Limit OFFSET @Offset",
            new { workspace = user.WorkspaceIdOf(), paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.funnels WHERE workspace_id = @workspace", new { workspace = user.WorkspaceIdOf() });
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToFunnel()).ToList(), total));
    }

    public static async Task<Results<Ok<Funnel>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return await FindAsync(connection, id, user.WorkspaceIdOf()) is { } funnel ? TypedResults.Ok(funnel) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<Funnel>, ValidationProblem, ProblemHttpResult>> Create(
        FunnelRequest request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var (schema, errors) = FunnelRequestValidation.Check(request);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The funnel is not valid");

        var id = Guid.CreateVersion7();
        await using var connection = await db.OpenConnectionAsync(ct);
        var inserted = await connection.ExecuteAsync("""
            INSERT INTO runtime.funnels (id, workspace_id, name, slug, schema, allowed_origins)
            VALUES (@id, @workspace, @name, @slug, @schema::jsonb, @origins) ON CONFLICT (slug) DO NOTHING
            """, new { id, workspace = user.WorkspaceIdOf(), name = request.Name!.Trim(), slug = request.Slug, schema = Serialize(schema!), origins = Origins(request) });
        if (inserted == 0) return SlugTaken(request.Slug!);
        return TypedResults.Created($"/api/runtime/funnels/{id}", (await FindAsync(connection, id, user.WorkspaceIdOf()))!);
    }

    public static async Task<Results<Ok<Funnel>, ValidationProblem, NotFound, ProblemHttpResult>> Update(
        Guid id, FunnelRequest request, ClaimsPrincipal user, NpgsqlDataSource db, PublishedFunnels live, CancellationToken ct)
    {
        var (schema, errors) = FunnelRequestValidation.Check(request);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "The funnel is not valid");

        await using var connection = await db.OpenConnectionAsync(ct);
        try
        {
            var updated = await connection.ExecuteAsync("""
                UPDATE runtime.funnels SET name = @name, slug = @slug, schema = @schema::jsonb, allowed_origins = @origins,
                    revision = revision + 1, updated_at = now()
                WHERE id = @id AND workspace_id = @workspace
                """, new { id, workspace = user.WorkspaceIdOf(), name = request.Name!.Trim(), slug = request.Slug, schema = Serialize(schema!), origins = Origins(request) });
            if (updated == 0) return TypedResults.NotFound();
            live.Forget(); // the slug or the allowed origins may have changed
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return SlugTaken(request.Slug!);
        }
        return TypedResults.Ok((await FindAsync(connection, id, user.WorkspaceIdOf()))!);
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> Delete(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, PublishedFunnels live, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var leads = await connection.ExecuteScalarAsync<long?>("""
            SELECT (SELECT count(*) FROM runtime.leads l WHERE l.funnel_id = f.id) FROM runtime.funnels f
            WHERE f.id = @id AND f.workspace_id = @workspace FOR UPDATE OF f
            """, new { id, workspace = user.WorkspaceIdOf() }, transaction);
        if (leads is null) return TypedResults.NotFound();
        if (leads > 0)
        {
            return TypedResults.Problem($"The funnel has {leads} lead(s); unpublish it instead.", title: "Funnel has leads", statusCode: StatusCodes.Status409Conflict);
        }
        await connection.ExecuteAsync("UPDATE runtime.funnels SET live_publication_id = NULL WHERE id = @id", new { id }, transaction);
        await connection.ExecuteAsync("DELETE FROM runtime.funnels WHERE id = @id", new { id }, transaction);
        await transaction.CommitAsync(ct);
        live.Forget();
        return TypedResults.NoContent();
    }

    public static Ok<SchemaValidation> Validate(JsonElement schema)
    {
        var (_, errors) = FunnelRequestValidation.ParseSchema(schema);
        return TypedResults.Ok(new SchemaValidation(errors.Count == 0, errors));
    }

    public static async Task<Results<Created<Publication>, NotFound>> Publish(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, PublishedFunnels live, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // The row lock orders concurrent publishes of one funnel, so versions never collide.
        var funnel = await connection.QuerySingleOrDefaultAsync<SlugAndSchema>(
            "SELECT slug, schema::text AS schema FROM runtime.funnels WHERE id = @id AND workspace_id = @workspace FOR UPDATE",
            new { id, workspace = user.WorkspaceIdOf() }, transaction);
        if (funnel is not { } f) return TypedResults.NotFound();

        var publication = await connection.QuerySingleAsync<Publication>("""
            INSERT INTO runtime.publications (id, funnel_id, workspace_id, slug, version, schema, published_by)
            SELECT @pid, @id, @workspace, @slug, coalesce(max(version), 0) + 1, @schema::jsonb, @by FROM runtime.publications WHERE funnel_id = @id
            RETURNING id, funnel_id, slug, version, published_at, published_by, true AS live
            """, new { pid = Guid.CreateVersion7(), id, workspace = user.WorkspaceIdOf(), slug = f.Slug, schema = f.Schema, by = user.SubjectOf() }, transaction);
        await connection.ExecuteAsync("UPDATE runtime.funnels SET live_publication_id = @pid WHERE id = @id", new { pid = publication.Id, id }, transaction);
        await transaction.CommitAsync(ct);
        live.Forget();
        return TypedResults.Created($"/api/runtime/funnels/{id}/publications", publication);
    }

    public static async Task<Results<NoContent, NotFound>> Unpublish(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, PublishedFunnels live, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var updated = await connection.ExecuteAsync(
            "UPDATE runtime.funnels SET live_publication_id = NULL WHERE id = @id AND workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() });
        live.Forget();
        return updated == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<IReadOnlyList<Publication>>, NotFound>> Publications(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await FindAsync(connection, id, user.WorkspaceIdOf()) is null) return TypedResults.NotFound();
        var publications = await connection.QueryAsync<Publication>("""
            SELECT p.id, p.funnel_id, p.slug, p.version, p.published_at, p.published_by, (f.live_publication_id = p.id) IS TRUE AS live
            FROM runtime.publications p JOIN runtime.funnels f ON f.id = p.funnel_id WHERE p.funnel_id = @id ORDER BY p.version DESC
            """, new { id });
        return TypedResults.Ok<IReadOnlyList<Publication>>(publications.ToList());
    }

    private static async Task<Funnel?> FindAsync(NpgsqlConnection connection, Guid id, Guid workspace) =>
        (await connection.QuerySingleOrDefaultAsync<FunnelRow>($"SELECT {Columns} WHERE f.id = @id AND f.workspace_id = @workspace", new { id, workspace }))?.ToFunnel();

    private static string Serialize(FunnelSchema schema) => JsonSerializer.Serialize(schema, FunnelSchema.Json);

    private static string[] Origins(FunnelRequest request) => (request.AllowedOrigins ?? []).Select(FunnelRequestValidation.Normalize).Distinct().ToArray();

    private static ProblemHttpResult SlugTaken(string slug) =>
        TypedResults.Problem($"Another funnel already uses the slug '{slug}'.", title: "Slug taken", statusCode: StatusCodes.Status409Conflict);

    private sealed record SlugAndSchema(string Slug, string Schema);

    // A class with setters, not a positional record: Dapper's constructor matching cannot take text[] columns.
    private sealed class FunnelRow
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string Slug { get; init; } = "";
        public string SchemaJson { get; init; } = "{}";
        public string[] AllowedOrigins { get; init; } = [];
        public Guid? LivePublicationId { get; init; }
        public int? LiveVersion { get; init; }
        public int Revision { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }

        public Funnel ToFunnel() => new(Id, Name, Slug, JsonDocument.Parse(SchemaJson).RootElement, AllowedOrigins,
            LivePublicationId, LiveVersion, Revision, CreatedAt, UpdatedAt);
    }
}
