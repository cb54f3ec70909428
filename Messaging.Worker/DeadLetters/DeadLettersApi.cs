using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Messaging.DeadLetters;

/// <summary>
/// Wolverine's dead-letter store of this worker (messaging_wolverine.wolverine_dead_letters):
/// messages whose retries ran out. Replaying marks the row replayable; Wolverine's durability
/// agent then moves it back to the incoming envelopes and the handler runs again (handlers are
/// idempotent, so a replay of something that meanwhile succeeded changes nothing). Discarding
/// deletes it. The store is the installation's, not a workspace's: its messages may belong to
/// any workspace, so only the install's operators (owners of the operator workspace) see it.
/// </summary>
public static class DeadLettersApi
{
    private const string Table = "messaging_wolverine.wolverine_dead_letters";

    public static void MapDeadLettersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/dead-letters").WithTags("Dead letters").RequireAuthorization(AuthenticationExtensions.OperatorPolicy);
        api.MapGet("/", List).WithName("ListDeadLetters").WithSummary("Dead letters, newest first, paged; filter by message_type (substring)");
        api.MapPost("/{id:guid}/replay", Replay).WithName("ReplayDeadLetter").WithSummary("Put the message back in the worker's incoming queue");
        api.MapDelete("/{id:guid}", Discard).WithName("DiscardDeadLetter");
    }

    public sealed record DeadLetter(
        Guid Id, string MessageType, string? Source, string? ExceptionType, string? ExceptionMessage, DateTime? SentAt, bool Replayable);

    public static async Task<Ok<PagedList<DeadLetter>>> List(
        NpgsqlDataSource db, [FromQuery(Name = "message_type")] string? messageType, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var filter = new { type = messageType is null ? null : $"%{messageType}%", paging.Limit, paging.Offset };
        const string where = "(@type::text IS NULL OR message_type ILIKE @type)";
        var items = (await connection.QueryAsync<DeadLetter>($"""
            SELECT id, message_type, source, exception_type, exception_message, sent_at, replayable FROM {Table}
            WHERE {where} ORDER BY sent_at DESC NULLS LAST, id LIMIT @Limit OFFSET @Offset
            """, filter)).ToList();
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {Table} WHERE {where}", filter);
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Accepted, NotFound>> Replay(Guid id, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var marked = await connection.ExecuteAsync($"UPDATE {Table} SET replayable = true WHERE id = @id", new { id });
        return marked == 1 ? TypedResults.Accepted((string?)null) : TypedResults.NotFound();
    }

    public static async Task<Results<NoContent, NotFound>> Discard(Guid id, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var deleted = await connection.ExecuteAsync($"DELETE FROM {Table} WHERE id = @id", new { id });
        return deleted == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
