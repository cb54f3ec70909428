using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.Messaging.Triggers;
using Funnels.Messaging.WhatsApp;
using Funnels.ServiceDefaults.Outbound;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Messaging.Flows;

/// <summary>The workspace's flows: versioned graphs, validated on every save, with their triggers.</summary>
public static class FlowsApi
{
    public static void MapFlowsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/flows").WithTags("Flows").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", List).WithName("ListFlows");
        api.MapGet("/{id:guid}", Get).WithName("GetFlow");
        api.MapPost("/", Create).WithName("CreateFlow").WithSummary("A new flow (version 1)").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPut("/{id:guid}", Update).WithName("UpdateFlow")
            .WithSummary("Replace the flow; a changed graph becomes a new version, running flows keep theirs").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapDelete("/{id:guid}", Delete).WithName("DeleteFlow").WithSummary("Delete the flow with its versions and runs").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record Flow(
        Guid Id, string Name, string Status, int Version, string? ChannelPhoneNumberId, JsonElement Triggers, JsonElement Definition, DateTime CreatedAt, DateTime UpdatedAt);

    public sealed record FlowSummary(Guid Id, string Name, string Status, int Version, DateTime CreatedAt, DateTime UpdatedAt);

    public static async Task<Ok<PagedList<FlowSummary>>> List(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        var items = (await connection.QueryAsync<FlowSummary>("""
            SELECT id, name, status, version, created_at, updated_at FROM messaging.flows WHERE workspace_id = @workspace
            ORDER BY created_at, id LIMIT @Limit OFFSET @Offset
            """, new { workspace, paging.Limit, paging.Offset })).ToList();
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM messaging.flows WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Ok<Flow>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return await LoadAsync(connection, null, id, user.WorkspaceIdOf()) is { } flow ? TypedResults.Ok(flow) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<Flow>, ValidationProblem>> Create(JsonElement body, ClaimsPrincipal user, NpgsqlDataSource db, OutboundPolicy policy, CancellationToken ct)
    {
        var (input, errors) = await FlowValidator.ValidateAsync(body, policy, ct);
        if (input is null) return TypedResults.ValidationProblem(errors);
        var id = Guid.CreateVersion7();
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ChannelProblemAsync(connection, workspace, input) is { } problem) return problem;
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync("""
            INSERT INTO messaging.flows (id, workspace_id, name, status, version, channel_phone_number_id, triggers)
            VALUES (@id, @workspace, @Name, @Status, 1, @ChannelPhoneNumberId, @triggers::jsonb);
            INSERT INTO messaging.flow_versions (flow_id, version, definition) VALUES (@id, 1, @Definition::jsonb);
            """, new { id, workspace, input.Name, input.Status, input.ChannelPhoneNumberId, triggers = TriggersJson(body), input.Definition }, transaction);
        await SaveTriggersAsync(connection, transaction, id, workspace, input);
        await transaction.CommitAsync(ct);
        return TypedResults.Created($"/api/messaging/flows/{id}", (await LoadAsync(connection, null, id, workspace))!);
    }

    public static async Task<Results<Ok<Flow>, ValidationProblem, NotFound>> Update(Guid id, JsonElement body, ClaimsPrincipal user, NpgsqlDataSource db, OutboundPolicy policy, CancellationToken ct)
    {
        var (input, errors) = await FlowValidator.ValidateAsync(body, policy, ct);
        if (input is null) return TypedResults.ValidationProblem(errors);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        if (await ChannelProblemAsync(connection, workspace, input) is { } problem) return problem;
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var current = await connection.QuerySingleOrDefaultAsync<int?>(
            // NO KEY: new runs hold a key-share lock on the flow (foreign key), so pausing a flow mid-burst must not wait on them.
            "SELECT version FROM messaging.flows WHERE id = @id AND workspace_id = @workspace FOR NO KEY UPDATE", new { id, workspace }, transaction);
        if (current is null) return TypedResults.NotFound();
        var changed = await connection.ExecuteScalarAsync<bool>(
            "SELECT definition <> @Definition::jsonb FROM messaging.flow_versions WHERE flow_id = @id AND version = @current", new { id, current, input.Definition }, transaction);
        var version = changed ? current.Value + 1 : current.Value;
        if (changed)
        {
            await connection.ExecuteAsync("INSERT INTO messaging.flow_versions (flow_id, version, definition) VALUES (@id, @version, @Definition::jsonb)",
                new { id, version, input.Definition }, transaction);
        }
        await connection.ExecuteAsync("""
            UPDATE messaging.flows SET name = @Name, status = @Status, version = @version, channel_phone_number_id = @ChannelPhoneNumberId,
                triggers = @triggers::jsonb, updated_at = now() WHERE id = @id;
            DELETE FROM messaging.flow_triggers WHERE flow_id = @id;
            """, new { id, version, input.Name, input.Status, input.ChannelPhoneNumberId, triggers = TriggersJson(body) }, transaction);
        await SaveTriggersAsync(connection, transaction, id, workspace, input);
        await transaction.CommitAsync(ct);
        return TypedResults.Ok((await LoadAsync(connection, null, id, workspace))!);
    }

    public static async Task<Results<NoContent, NotFound>> Delete(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var deleted = await connection.ExecuteAsync("DELETE FROM messaging.flows WHERE id = @id AND workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() });
        return deleted == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    /// <summary>A flow writes from its channel: only one of the workspace's own numbers.</summary>
    private static async Task<ValidationProblem?> ChannelProblemAsync(NpgsqlConnection connection, Guid workspace, FlowInput input) =>
        input.ChannelPhoneNumberId is { } channel && !await WorkspaceChannels.OwnsAsync(connection, null, workspace, channel)
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["channel_phone_number_id"] = [WorkspaceChannels.NotYours] })
            : null;

    private static string TriggersJson(JsonElement body) =>
        body.TryGetProperty("triggers", out var t) && t.ValueKind == JsonValueKind.Array ? t.GetRawText() : "[]";

    private static async Task SaveTriggersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, Guid workspace, FlowInput input)
    {
        // Phrases are stored normalised, the form inbound text is matched in.
        foreach (var trigger in input.Triggers)
        {
            var phrase = trigger.Phrase is null ? null : (await Phrases.NormalizeAsync(connection, transaction, [trigger.Phrase]))[0];
            await connection.ExecuteAsync(
                "INSERT INTO messaging.flow_triggers (flow_id, workspace_id, kind, phrase, funnel_id) VALUES (@id, @workspace, @Type, @phrase, @FunnelId)",
                new { id, workspace, trigger.Type, phrase, trigger.FunnelId }, transaction);
        }
    }

    private static async Task<Flow?> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, Guid workspace)
    {
        var row = await connection.QuerySingleOrDefaultAsync<FlowRow>("""
            SELECT f.id, f.name, f.status, f.version, f.channel_phone_number_id, f.triggers::text AS triggers, v.definition::text AS definition, f.created_at, f.updated_at
            FROM messaging.flows f JOIN messaging.flow_versions v ON v.flow_id = f.id AND v.version = f.version
            WHERE f.id = @id AND f.workspace_id = @workspace
            """, new { id, workspace }, transaction);
        return row is null ? null : new Flow(row.Id, row.Name, row.Status, row.Version, row.ChannelPhoneNumberId,
            JsonDocument.Parse(row.Triggers).RootElement.Clone(), JsonDocument.Parse(row.Definition).RootElement.Clone(), row.CreatedAt, row.UpdatedAt);
    }

    private sealed record FlowRow(Guid Id, string Name, string Status, int Version, string? ChannelPhoneNumberId, string Triggers, string Definition, DateTime CreatedAt, DateTime UpdatedAt);
}
