using System.Security.Claims;
using System.Security.Cryptography;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StackExchange.Redis;
using Wolverine;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// The workspace's WhatsApp business numbers. A phone-number id belongs to one workspace; Meta's
/// deliveries for it are routed there, and deliveries for unclaimed numbers are kept but ignored.
/// Claiming needs proof: the number's own Graph API access token, which the Graph API must accept
/// for that id (it is then stored encrypted and sends from the number use it), or an operator
/// (owner of the operator workspace) claiming it, with or without a token. A number of another
/// Meta app than the installation's also carries that app's secret and verify token (encrypted,
/// never shown; MetaWebhookApi checks its deliveries with them). Messaging.Worker learns
/// every claim and release (WhatsAppChannelClaimed / WhatsAppChannelReleased, through the outbox).
/// </summary>
public static class ChannelsApi
{
    public static void MapWhatsAppChannelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/whatsapp/channels").WithTags("WhatsApp").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", List).WithName("ListWhatsAppChannels");
        api.MapPut("/{phoneNumberId}", Put).WithName("PutWhatsAppChannel")
            .WithSummary("Claim a phone-number id for this workspace with its access token (proof), or rename a number already claimed")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/{phoneNumberId}", Delete).WithName("DeleteWhatsAppChannel").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    /// <param name="AccessToken">The number's own Graph API access token: the proof of a claim. Never shown again.</param>
    /// <param name="AppSecret">The secret of the Meta app the number belongs to: its deliveries are signed with it (else with WhatsApp:AppSecret). Never shown again.</param>
    /// <param name="VerifyToken">A webhook verify token of that app's subscription, accepted beside WhatsApp:VerifyToken. Never shown again.</param>
    public sealed record ChannelRequest(string? DisplayPhoneNumber, string? AccessToken, string? AppSecret = null, string? VerifyToken = null);

    /// <param name="Proof">token (its access token answered for it), operator (claimed by an operator), legacy (claimed before proof was asked).</param>
    public sealed record Channel(string PhoneNumberId, string? DisplayPhoneNumber, string Proof, bool HasAccessToken, DateTime CreatedAt,
        bool HasAppSecret = false, bool HasVerifyToken = false);

    public static async Task<Ok<PagedList<Channel>>> List(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        var items = (await connection.QueryAsync<Channel>("""
            SELECT phone_number_id, display_phone_number, proof, access_token IS NOT NULL AS has_access_token, created_at,
                app_secret IS NOT NULL AS has_app_secret, verify_token IS NOT NULL AS has_verify_token FROM runtime.whatsapp_channels
            WHERE workspace_id = @workspace ORDER BY created_at, phone_number_id LIMIT @Limit OFFSET @Offset
            """, new { workspace, paging.Limit, paging.Offset })).ToList();
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.whatsapp_channels WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(items, total));
    }

    public static async Task<Results<Ok<Channel>, ValidationProblem, ProblemHttpResult>> Put(
        string phoneNumberId, ChannelRequest? request, ClaimsPrincipal user, NpgsqlDataSource db, IMessageContext bus, GraphPhoneNumbers graph, SecretProtector secrets,
        ChannelCredentials credentials, IConnectionMultiplexer redis, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (phoneNumberId.Length is 0 or > 64 || !phoneNumberId.All(char.IsAsciiDigit)) errors["phone_number_id"] = ["must be Meta's numeric phone-number id"];
        if (request?.DisplayPhoneNumber is { Length: > 32 }) errors["display_phone_number"] = ["must be at most 32 characters"];
        var token = string.IsNullOrWhiteSpace(request?.AccessToken) ? null : request.AccessToken.Trim();
        if (token is { Length: > 2048 }) errors["access_token"] = ["must be at most 2048 characters"];
        var appSecret = string.IsNullOrWhiteSpace(request?.AppSecret) ? null : request.AppSecret.Trim();
        if (appSecret is { Length: > 256 }) errors["app_secret"] = ["must be at most 256 characters (Meta's app secrets are 32 hexadecimal digits)"];
        var verifyToken = string.IsNullOrWhiteSpace(request?.VerifyToken) ? null : request.VerifyToken.Trim();
        if (verifyToken is { Length: > 256 }) errors["verify_token"] = ["must be at most 256 characters"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var workspace = user.WorkspaceIdOf();
        Guid? owner;
        await using (var connection = await db.OpenConnectionAsync(ct))
        {
            owner = await connection.QuerySingleOrDefaultAsync<Guid?>(
                "SELECT workspace_id FROM runtime.whatsapp_channels WHERE phone_number_id = @phoneNumberId", new { phoneNumberId });
        }
        if (owner is { } other && other != workspace) return Conflict(phoneNumberId);

        var display = request?.DisplayPhoneNumber;
        if ((token ?? appSecret ?? verifyToken) is not null && !secrets.CanProtect)
        {
            return TypedResults.Problem("Secrets:EncryptionKey is not configured, so access tokens, app secrets and verify tokens cannot be stored.", title: "Not configured",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        // Giving only credentials keeps the display number; a rename sets it (to nothing, when empty).
        var keepDisplay = display is null && (appSecret ?? verifyToken) is not null;
        var protectedAppSecret = appSecret is null ? null : secrets.Protect(appSecret, ChannelCredentials.AppSecretPurpose(phoneNumberId));
        var protectedVerifyToken = verifyToken is null ? null : secrets.Protect(verifyToken, ChannelCredentials.VerifyTokenPurpose(phoneNumberId));
        string? protectedToken = null;
        string? proof = null;
        if (token is not null)
        {
            var answer = await graph.VerifyAsync(phoneNumberId, token, ct);
            switch (answer.Outcome)
            {
                case GraphProofOutcome.InvalidToken:
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["access_token"] = [$"Meta does not accept this access token (Graph API error 190: {answer.Message}); use a valid token of the number's WhatsApp Business account"],
                    });
                case GraphProofOutcome.NotThisToken:
                    return TypedResults.Problem(
                        $"The access token does not answer for phone-number id {phoneNumberId} (Graph API error {answer.Code?.ToString() ?? "mismatch"}: {answer.Message}): " +
                        "it is not proof that the number is yours.", title: "Forbidden", statusCode: StatusCodes.Status403Forbidden);
                case GraphProofOutcome.Refused:
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["access_token"] = [$"the Graph API refused it (error {answer.Code?.ToString() ?? "unknown"}: {answer.Message})"],
                    });
                case GraphProofOutcome.Unavailable:
                    return TypedResults.Problem("The Graph API did not answer, so the claim could not be proven; try again.", title: "Service unavailable",
                        statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            display ??= answer.DisplayPhoneNumber;
            protectedToken = secrets.Protect(token, phoneNumberId);
            proof = "token";
        }
        else if (owner is null)
        {
            if (workspace != WorkspaceClaims.OperatorWorkspaceId || user.RoleOf() != Roles.Owner)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["access_token"] = ["is required to claim a number: the number's own Graph API access token, which proves it is yours (only an operator may claim without one)"],
                });
            }
            proof = "operator";
        }

        var channel = await bus.InOutboxTransactionAsync(db, async transaction =>
        {
            var row = proof is null
                // Renaming a number the workspace already has, or giving its app's credentials: nothing to prove, the stored token stays.
                ? await transaction.Connection!.QuerySingleOrDefaultAsync<ChannelRow>("""
                    UPDATE runtime.whatsapp_channels SET display_phone_number = CASE WHEN @keepDisplay THEN display_phone_number ELSE @display END,
                        app_secret = COALESCE(@protectedAppSecret, app_secret), verify_token = COALESCE(@protectedVerifyToken, verify_token),
                        changed_at = clock_timestamp(), announced_at = now()
                    WHERE phone_number_id = @phoneNumberId AND workspace_id = @workspace
                    RETURNING phone_number_id, display_phone_number, proof, access_token, created_at, changed_at,
                        app_secret IS NOT NULL AS has_app_secret, verify_token IS NOT NULL AS has_verify_token
                    """, new { phoneNumberId, workspace, display, keepDisplay, protectedAppSecret, protectedVerifyToken }, transaction)
                : await transaction.Connection!.QuerySingleOrDefaultAsync<ChannelRow>("""
                    INSERT INTO runtime.whatsapp_channels (phone_number_id, workspace_id, display_phone_number, access_token, proof, app_secret, verify_token, changed_at, announced_at)
                    VALUES (@phoneNumberId, @workspace, @display, @protectedToken, @proof, @protectedAppSecret, @protectedVerifyToken, clock_timestamp(), now())
                    ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = EXCLUDED.display_phone_number,
                        access_token = COALESCE(EXCLUDED.access_token, whatsapp_channels.access_token),
                        app_secret = COALESCE(EXCLUDED.app_secret, whatsapp_channels.app_secret),
                        verify_token = COALESCE(EXCLUDED.verify_token, whatsapp_channels.verify_token),
                        proof = CASE WHEN EXCLUDED.access_token IS NOT NULL THEN 'token' ELSE whatsapp_channels.proof END,
                        changed_at = EXCLUDED.changed_at, announced_at = EXCLUDED.announced_at
                        WHERE whatsapp_channels.workspace_id = EXCLUDED.workspace_id
                    RETURNING phone_number_id, display_phone_number, proof, access_token, created_at, changed_at,
                        app_secret IS NOT NULL AS has_app_secret, verify_token IS NOT NULL AS has_verify_token
                    """, new { phoneNumberId, workspace, display, protectedToken, proof, protectedAppSecret, protectedVerifyToken }, transaction);
            if (row is { AccessToken: { } stored } && SecretProtector.IsLegacy(stored) && Reprotect(secrets, stored, phoneNumberId) is { } renewed)
            {
                // A token written before Data Protection: written anew with it, now that the row is written anyway.
                await transaction.Connection!.ExecuteAsync("UPDATE runtime.whatsapp_channels SET access_token = @renewed WHERE phone_number_id = @phoneNumberId",
                    new { renewed, phoneNumberId }, transaction);
                row = row with { AccessToken = renewed };
            }
            if (row is not null)
            {
                await bus.PublishAsync(new WhatsAppChannelClaimed(row.PhoneNumberId, workspace, row.AccessToken, ToOffset(row.ChangedAt)));
            }
            return row;
        }, ct);
        if (channel is not null)
        {
            await credentials.ChangedAsync(redis);
        }
        if (channel is null)
        {
            // Taken (or released) between the check and the write.
            return proof is null
                ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["access_token"] = ["is required to claim a number: the number's own Graph API access token"] })
                : Conflict(phoneNumberId);
        }
        return TypedResults.Ok(channel.ToChannel());
    }

    public static async Task<Results<NoContent, NotFound>> Delete(
        string phoneNumberId, ClaimsPrincipal user, NpgsqlDataSource db, IMessageContext bus, ChannelCredentials credentials, IConnectionMultiplexer redis, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        var released = await bus.InOutboxTransactionAsync(db, async transaction =>
        {
            var at = await transaction.Connection!.QuerySingleOrDefaultAsync<DateTime?>(
                "DELETE FROM runtime.whatsapp_channels WHERE phone_number_id = @phoneNumberId AND workspace_id = @workspace RETURNING clock_timestamp()",
                new { phoneNumberId, workspace }, transaction);
            if (at is { } when)
            {
                await bus.PublishAsync(new WhatsAppChannelReleased(phoneNumberId, workspace, ToOffset(when)));
            }
            return at is not null;
        }, ct);
        if (!released) return TypedResults.NotFound();
        await credentials.ChangedAsync(redis);
        return TypedResults.NoContent();
    }

    internal static DateTimeOffset ToOffset(DateTime at) => new(DateTime.SpecifyKind(at, DateTimeKind.Utc), TimeSpan.Zero);

    private static ProblemHttpResult Conflict(string phoneNumberId) =>
        TypedResults.Problem($"Phone-number id {phoneNumberId} belongs to another workspace.", title: "Conflict", statusCode: StatusCodes.Status409Conflict);

    private static string? Reprotect(SecretProtector secrets, string stored, string phoneNumberId)
    {
        try
        {
            return secrets.Protect(secrets.Unprotect(stored, phoneNumberId), phoneNumberId);
        }
        catch (CryptographicException)
        {
            return null; // its old key is gone: it stays as it is (sends from it fail the same way)
        }
    }

    private sealed record ChannelRow(string PhoneNumberId, string? DisplayPhoneNumber, string Proof, string? AccessToken, DateTime CreatedAt, DateTime ChangedAt,
        bool HasAppSecret, bool HasVerifyToken)
    {
        public Channel ToChannel() => new(PhoneNumberId, DisplayPhoneNumber, Proof, AccessToken is not null, CreatedAt, HasAppSecret, HasVerifyToken);
    }
}
