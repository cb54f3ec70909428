using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// The workspace's WhatsApp business numbers. A phone-number id belongs to one workspace; Meta's
/// deliveries for it are routed there, and deliveries for unclaimed numbers are kept but ignored.
/// </summary>
public static class ChannelsApi
{
    public static void MapWhatsAppChannelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/whatsapp/channels").WithTags("WhatsApp").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", List).WithName("ListWhatsAppChannels");
        api.MapPut("/{phoneNumberId}", Put).WithName("PutWhatsAppChannel")
            .WithSummary("Claim a phone-number id for this workspace").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/{phoneNumberId}", Delete).WithName("DeleteWhatsAppChannel").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record ChannelRequest(string? DisplayPhoneNumber);

    public sealed record Channel(string PhoneNumberId, string? DisplayPhoneNumber, DateTime CreatedAt);

    public static async Task<Ok<PagedList<Channel>>> List(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        var items = (await connection.QueryAsync<Channel>("""
            SELECT phone_number_id, display_phone_number, created_at FROM runtime.whatsapp_channels
            WHERE workspace_id = @workspace ORDER BY created_at, phone_number_id LIMIT @Limit OFFSET @Offset
            """, new { workspace, paging.Limit, paging.Offset })).ToList();
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.whatsapp_channels WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Ok<Channel>, ValidationProblem, ProblemHttpResult>> Put(
        string phoneNumberId, ChannelRequest? request, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (phoneNumberId.Length is 0 or > 64 || !phoneNumberId.All(char.IsAsciiDigit)) errors["phone_number_id"] = ["must be Meta's numeric phone-number id"];
        if (request?.DisplayPhoneNumber is { Length: > 32 }) errors["display_phone_number"] = ["must be at most 32 characters"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        await using var connection = await db.OpenConnectionAsync(ct);
        var channel = await connection.QuerySingleOrDefaultAsync<Channel>("""
            INSERT INTO runtime.whatsapp_channels (phone_number_id, workspace_id, display_phone_number) VALUES (@phoneNumberId, @workspace, @display)
            ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = EXCLUDED.display_phone_number
                WHERE whatsapp_channels.workspace_id = EXCLUDED.workspace_id
            RETURNING phone_number_id, display_phone_number, created_at
            """, new { phoneNumberId, workspace = user.WorkspaceIdOf(), display = request?.DisplayPhoneNumber });
        return channel is null
            ? TypedResults.Problem($"Phone-number id {phoneNumberId} belongs to another workspace.", title: "Conflict", statusCode: StatusCodes.Status409Conflict)
            : TypedResults.Ok(channel);
    }

    public static async Task<Results<NoContent, NotFound>> Delete(string phoneNumberId, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var deleted = await connection.ExecuteAsync(
            "DELETE FROM runtime.whatsapp_channels WHERE phone_number_id = @phoneNumberId AND workspace_id = @workspace", new { phoneNumberId, workspace = user.WorkspaceIdOf() });
        return deleted == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
