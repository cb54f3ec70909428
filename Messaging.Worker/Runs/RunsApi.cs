using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Messaging.Runs;

/// <summary>Flow runs of the workspace with their step logs and sends; cancelling a run.</summary>
public static class RunsApi
{
    public static void MapRunsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/runs").WithTags("Flow runs").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", List).WithName("ListRuns").WithSummary("Runs, newest first, paged; filter by flow_id, status");
        api.MapGet("/{id:guid}", Get).WithName("GetRun").WithSummary("A run with its step log and outbound messages (each with its latest status)");
        api.MapGet("/deliveries", Deliveries).WithName("CountDeliveries")
            .WithSummary("Outbound messages by latest status (queued, sent, delivered, read, failed, dead_lettered); filter by flow_id");
        api.MapPost("/{id:guid}/cancel", Cancel).WithName("CancelRun")
            .WithSummary("Stop a running, waiting, sending or dead-lettered run; its sends not yet out are withdrawn, its scheduled wake-ups find it cancelled and do nothing").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
    }

    public sealed record Run(
        Guid Id, Guid FlowId, int FlowVersion, Guid ContactId, string PhoneNumberId, string Status, string? CurrentNode, int Step,
        string? WaitKind, DateTime? WaitUntil, string? Error, DateTime StartedAt, DateTime UpdatedAt, DateTime? FinishedAt);

    public sealed record Step(int Number, string NodeId, string NodeType, string Outcome, JsonElement? Detail, DateTime ExecutedAt);

    /// <param name="LatestStatus">queued, dead_lettered, sent, delivered, read or failed: the send's own outcome, then Meta's latest status webhook.</param>
    /// <param name="ErrorCode">Meta's error code of the last refusal or of the failed status.</param>
    public sealed record Outbound(
        Guid Id, int Step, string Kind, string Status, string? Wamid, int Attempts, int? LastStatusCode, string? LastError, DateTime? SentAt,
        string LatestStatus, int? ErrorCode, string? DeliveryStatus, DateTime? DeliveryAt, DateTime? DeadLetteredAt);

    /// <param name="Queued">Includes the sends waiting behind Meta's throttling or a paused channel.</param>
    public sealed record DeliveryCounts(long Queued, long Sent, long Delivered, long Read, long Failed, long DeadLettered);

    /// <summary>An outbound message's latest status (SQL over messaging.outbound_messages).</summary>
    public const string LatestStatus = """
        CASE WHEN status = 'queued' AND dead_lettered_at IS NOT NULL THEN 'dead_lettered' WHEN status = 'failed' THEN 'failed'
             WHEN status = 'sent' AND delivery_status IS NOT NULL THEN delivery_status ELSE status END
        """;

    public sealed record RunDetail(Run Run, JsonElement Context, IReadOnlyList<Step> Steps, IReadOnlyList<Outbound> OutboundMessages);

    private const string Columns = "id, flow_id, flow_version, contact_id, phone_number_id, status, current_node, step, wait_kind, wait_until, error, started_at, updated_at, finished_at";

    public static async Task<Ok<PagedList<Run>>> List(
        ClaimsPrincipal user, NpgsqlDataSource db, [FromQuery(Name = "flow_id")] Guid? flowId, string? status,
        int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var filter = new { workspace = user.WorkspaceIdOf(), flowId, status, paging.Limit, paging.Offset };
        const string where = "workspace_id = @workspace AND (@flowId::uuid IS NULL OR flow_id = @flowId) AND (@status::text IS NULL OR status = @status)";
        var items = (await connection.QueryAsync<Run>($"SELECT {Columns} FROM messaging.flow_runs WHERE {where} ORDER BY started_at DESC, id LIMIT @Limit OFFSET @Offset", filter)).ToList();
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messaging.flow_runs WHERE {where}", filter);
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Ok<RunDetail>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var run = await connection.QuerySingleOrDefaultAsync<Run>(
            $"SELECT {Columns} FROM messaging.flow_runs WHERE id = @id AND workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() });
        if (run is null) return TypedResults.NotFound();
        var context = await connection.ExecuteScalarAsync<string>("SELECT context::text FROM messaging.flow_runs WHERE id = @id", new { id });
        var steps = (await connection.QueryAsync<StepRow>(
            "SELECT step, node_id, node_type, outcome, detail::text AS detail, executed_at FROM messaging.flow_run_steps WHERE run_id = @id ORDER BY step", new { id }))
            .Select(s => new Step(s.Step, s.NodeId, s.NodeType, s.Outcome, s.Detail is null ? null : JsonDocument.Parse(s.Detail).RootElement.Clone(), s.ExecutedAt)).ToList();
        var outbound = (await connection.QueryAsync<Outbound>(
            $"""
            SELECT id, step, kind, status, wamid, attempts, last_status_code, last_error, sent_at, {LatestStatus} AS latest_status, error_code, delivery_status, delivery_at, dead_lettered_at
            FROM messaging.outbound_messages WHERE run_id = @id ORDER BY step
            """, new { id })).ToList();
        return TypedResults.Ok(new RunDetail(run, JsonDocument.Parse(context ?? "{}").RootElement.Clone(), steps, outbound));
    }

    public static async Task<Ok<DeliveryCounts>> Deliveries(ClaimsPrincipal user, NpgsqlDataSource db, [FromQuery(Name = "flow_id")] Guid? flowId, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var counts = await connection.QuerySingleAsync<DeliveryCounts>($"""
            SELECT count(*) FILTER (WHERE s = 'queued') AS queued, count(*) FILTER (WHERE s = 'sent') AS sent, count(*) FILTER (WHERE s = 'delivered') AS delivered,
                   count(*) FILTER (WHERE s = 'read') AS read, count(*) FILTER (WHERE s = 'failed') AS failed, count(*) FILTER (WHERE s = 'dead_lettered') AS dead_lettered
            FROM (SELECT {LatestStatus} AS s FROM messaging.outbound_messages o
                  WHERE o.workspace_id = @workspace AND (@flowId::uuid IS NULL OR EXISTS (SELECT 1 FROM messaging.flow_runs r WHERE r.id = o.run_id AND r.flow_id = @flowId))) latest
            """, new { workspace = user.WorkspaceIdOf(), flowId });
        return TypedResults.Ok(counts);
    }

    public static async Task<Results<Ok<Run>, NotFound, ProblemHttpResult>> Cancel(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var run = await connection.QuerySingleOrDefaultAsync<Run>($"""
            UPDATE messaging.flow_runs SET status = 'cancelled', wait_kind = NULL, wait_until = NULL, updated_at = now(), finished_at = now()
            WHERE id = @id AND workspace_id = @workspace AND status IN ('running', 'waiting', 'sending', 'dead_lettered') RETURNING {Columns}
            """, new { id, workspace }, transaction);
        if (run is not null)
        {
            await connection.ExecuteAsync(RunStates.WithdrawQueuedSends, new { runId = id }, transaction);
            await transaction.CommitAsync(ct);
            return TypedResults.Ok(run);
        }
        var status = await connection.ExecuteScalarAsync<string?>("SELECT status FROM messaging.flow_runs WHERE id = @id AND workspace_id = @workspace", new { id, workspace }, transaction);
        return status is null
            ? TypedResults.NotFound()
            : TypedResults.Problem($"The run is {status}; only running, waiting, sending or dead-lettered runs can be cancelled.", title: "Conflict", statusCode: StatusCodes.Status409Conflict);
    }

    private sealed record StepRow(int Step, string NodeId, string NodeType, string Outcome, string? Detail, DateTime ExecutedAt);
}
