using System.Security.Claims;
using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Sending;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.WhatsApp;

/// <summary>
/// A channel whose token Meta refused (190 and the other token codes of <see cref="GraphErrorCodes"/>) is
/// paused: its messages stay queued instead of each failing the same way. It resumes when Runtime.Api
/// announces the channel with another token (an owner saved a new one), or when an owner resumes it
/// by hand (the installation's token was replaced, say); resuming queues again the first queued
/// message of each of the channel's runs (the rest follow it, in step order).
/// </summary>
public static class ChannelSending
{
    public static async Task<int> ResumeAsync(NpgsqlTransaction transaction, IMessageContext bus, string phoneNumberId)
    {
        var heads = (await transaction.Connection!.QueryAsync<Guid>("""
            SELECT o.id FROM messaging.outbound_messages o
            WHERE o.phone_number_id = @phoneNumberId AND o.status = 'queued' AND o.dead_lettered_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM messaging.outbound_messages e WHERE e.run_id = o.run_id AND e.status = 'queued' AND e.step < o.step)
            """, new { phoneNumberId }, transaction)).ToList();
        foreach (var id in heads)
        {
            await bus.PublishAsync(new SendWhatsAppMessage(id));
        }
        return heads.Count;
    }
}

/// <summary>A claim carrying another token than the one Meta refused resumes the paused channel (beside WhatsAppChannelClaimedHandler, which stores the claim).</summary>
public static class ResumeChannelOnNewTokenHandler
{
    public static Task Handle(WhatsAppChannelClaimed message, IMessageContext bus, NpgsqlDataSource dataSource, ILogger<SendWhatsAppMessage> logger, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            // Not older than what is stored (a late, stale claim resumes nothing), and a token that is not the refused one.
            // The claim itself is applied here too: the sends queued again must find the new token, whichever handler runs first.
            var resumed = await transaction.Connection!.ExecuteAsync("""
                UPDATE messaging.whatsapp_channels SET paused_at = NULL, paused_code = NULL, paused_reason = NULL, paused_token = NULL,
                    workspace_id = @WorkspaceId, access_token = @AccessToken, changed_at = @changedAt
                WHERE phone_number_id = @PhoneNumberId AND paused_at IS NOT NULL AND changed_at <= @changedAt
                  AND @AccessToken::text IS NOT NULL AND paused_token IS DISTINCT FROM @AccessToken::text
                """, new { message.PhoneNumberId, message.WorkspaceId, message.AccessToken, changedAt = message.ChangedAt.UtcDateTime }, transaction);
            if (resumed == 0) return;
            var queued = await ChannelSending.ResumeAsync(transaction, bus, message.PhoneNumberId);
            logger.LogInformation("Sending from WhatsApp channel {PhoneNumberId} resumed: it has a new access token; {Queued} run(s)' messages queued again", message.PhoneNumberId, queued);
        }, cancellationToken);
}

/// <summary>The sending side of the workspace's channels for the Channels page: paused channels, Meta's error notifications, resuming.</summary>
public static class ChannelSendingApi
{
    public static void MapChannelSendingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/channels").WithTags("WhatsApp channels").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", List).WithName("ListChannelSending").WithSummary("The workspace's channels as the worker sends from them: paused or not, and why; queued messages");
        api.MapGet("/errors", Errors).WithName("ListChannelErrors").WithSummary("Meta's asynchronous error notifications (webhook errors[]), newest first, paged; filter by phone_number_id");
        api.MapPost("/{phoneNumberId}/resume", Resume).WithName("ResumeChannelSending")
            .WithSummary("Resume a paused channel's sending: its queued messages go out again").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record ChannelState(string PhoneNumberId, bool Paused, DateTime? PausedAt, int? PausedCode, string? PausedReason, long Queued);

    public sealed record ErrorNotice(Guid Id, string PhoneNumberId, int? Code, string? Title, string? Message, string? Details, DateTime ReceivedAt);

    public static async Task<Ok<List<ChannelState>>> List(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var channels = (await connection.QueryAsync<ChannelState>("""
            SELECT ch.phone_number_id, ch.paused_at IS NOT NULL AS paused, ch.paused_at, ch.paused_code, ch.paused_reason,
                   (SELECT count(*) FROM messaging.outbound_messages o WHERE o.phone_number_id = ch.phone_number_id AND o.workspace_id = ch.workspace_id AND o.status = 'queued') AS queued
            FROM messaging.whatsapp_channels ch WHERE ch.workspace_id = @workspace ORDER BY ch.phone_number_id
            """, new { workspace = user.WorkspaceIdOf() })).ToList();
        return TypedResults.Ok(channels);
    }

    public static async Task<Ok<PagedList<ErrorNotice>>> Errors(
        ClaimsPrincipal user, NpgsqlDataSource db, [FromQuery(Name = "phone_number_id")] string? phoneNumberId, int? page, [FromQuery(Name = "page_size")] int? pageSize,
        CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var filter = new { workspace = user.WorkspaceIdOf(), phoneNumberId, paging.Limit, paging.Offset };
        const string where = "workspace_id = @workspace AND (@phoneNumberId::text IS NULL OR phone_number_id = @phoneNumberId)";
        var items = (await connection.QueryAsync<ErrorNotice>($"""
            SELECT id, phone_number_id, code, title, message, details, received_at FROM messaging.whatsapp_error_notifications
            WHERE {where} ORDER BY received_at DESC, id DESC LIMIT @Limit OFFSET @Offset
            """, filter)).ToList();
        var total = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messaging.whatsapp_error_notifications WHERE {where}", filter);
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Ok<ChannelState>, NotFound, ProblemHttpResult>> Resume(
        string phoneNumberId, ClaimsPrincipal user, NpgsqlDataSource db, IMessageContext bus, ILogger<SendWhatsAppMessage> logger, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        var outcome = await bus.InOutboxTransactionAsync(db, async transaction =>
        {
            var paused = await transaction.Connection!.QuerySingleOrDefaultAsync<bool?>(
                "SELECT paused_at IS NOT NULL FROM messaging.whatsapp_channels WHERE phone_number_id = @phoneNumberId AND workspace_id = @workspace FOR UPDATE",
                new { phoneNumberId, workspace }, transaction);
            if (paused is not true) return paused is null ? "missing" : "not paused";
            await transaction.Connection!.ExecuteAsync(
                "UPDATE messaging.whatsapp_channels SET paused_at = NULL, paused_code = NULL, paused_reason = NULL, paused_token = NULL WHERE phone_number_id = @phoneNumberId",
                new { phoneNumberId }, transaction);
            var queued = await ChannelSending.ResumeAsync(transaction, bus, phoneNumberId);
            logger.LogInformation("Sending from WhatsApp channel {PhoneNumberId} resumed by {User}; {Queued} run(s)' messages queued again",
                phoneNumberId, user.Identity?.Name, queued);
            return "resumed";
        }, ct);
        if (outcome == "missing") return TypedResults.NotFound();
        if (outcome == "not paused")
        {
            return TypedResults.Problem($"Sending from {phoneNumberId} is not paused.", title: "Conflict", statusCode: StatusCodes.Status409Conflict);
        }
        var states = (await List(user, db, ct)).Value!;
        return TypedResults.Ok(states.First(s => s.PhoneNumberId == phoneNumberId));
    }
}
