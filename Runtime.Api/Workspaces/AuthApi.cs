using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Funnels.Runtime.Events;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using StackExchange.Redis;

namespace Funnels.Runtime.Workspaces;

/// <summary>
/// Sign-in for the admin panel and for machines: exchanges a password or an API key for a bearer
/// token. A password sign-in opens a session (runtime.sessions); its tokens carry the session id and
/// the membership's security stamp, and every service refuses them once the session is signed out,
/// the role changes or the membership is removed (TokenRevocation).
/// </summary>
public static class AuthApi
{
    public static void MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/auth").WithTags("Auth");
        var limits = app.ServiceProvider.GetRequiredService<PublicLimits>();
        var settings = app.ServiceProvider.GetRequiredService<AuthSettings>();

        api.MapPost("/token", IssueToken)
            .WithName("IssueToken")
            .WithSummary("Exchange an email and password (optionally naming a workspace or accepting an invitation), or an API key, for a bearer token")
            .RequireRateLimit(new RateLimit("auth-token", limits.SignInsPerIpPerMinute, TimeSpan.FromMinutes(1),
                http => ClientAddress.Of(http, settings.ClientAddressKey, DateTimeOffset.UtcNow)));
        api.MapPost("/switch", SwitchWorkspace)
            .WithName("SwitchWorkspace")
            .WithSummary("A token of the same session for another workspace the signed-in admin belongs to")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapPost("/sign-out", SignOut)
            .WithName("SignOut")
            .WithSummary("End the session: every token of it is refused by every service within seconds")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/workspaces", MyWorkspaces)
            .WithName("MyWorkspaces")
            .WithSummary("The workspaces the signed-in admin belongs to, with the role in each")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        app.MapInvitationsApi();
    }

    public sealed record TokenRequest(string? Email, string? Password, Guid? WorkspaceId, string? ApiKey, Guid? InvitationId);

    public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, Guid WorkspaceId, string Role, string Subject);

    public sealed record Membership(Guid WorkspaceId, string Slug, string Name, string Role);

    public sealed class SignInServices(
        NpgsqlDataSource dataSource, AdminTokens tokens, PasswordCheck passwords, RateLimiter limiter, PublicLimits limits, AuthSettings settings)
    {
        public NpgsqlDataSource DataSource { get; } = dataSource;
        public AdminTokens Tokens { get; } = tokens;
        public PasswordCheck Passwords { get; } = passwords;
        public RateLimiter Limiter { get; } = limiter;
        public PublicLimits Limits { get; } = limits;
        public AuthSettings Settings { get; } = settings;
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> IssueToken(
        TokenRequest request, HttpContext http, [AsParameters] SignInServices services, CancellationToken cancellationToken)
    {
        await using var connection = await services.DataSource.OpenConnectionAsync(cancellationToken);
        if (!string.IsNullOrWhiteSpace(request.ApiKey))
        {
            var key = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
                "SELECT id, workspace_id, role FROM runtime.api_keys WHERE key_hash = @hash AND revoked_at IS NULL",
                new { hash = ApiKeys.HashOf(request.ApiKey) });
            return key is { } k
                ? TypedResults.Ok(new TokenResponse(services.Tokens.ForApiKey(k.Id, k.WorkspaceId, k.Role), "Bearer",
                    (int)services.Tokens.DefaultLifetime.TotalSeconds, k.WorkspaceId, k.Role, WorkspaceClaims.ApiKeySubjectPrefix + k.Id))
                : Unauthorized("The API key is unknown or revoked.");
        }

        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["email"] = string.IsNullOrWhiteSpace(request.Email) ? ["is required (or send api_key)"] : [],
                ["password"] = string.IsNullOrEmpty(request.Password) ? ["is required (or send api_key)"] : [],
            }.Where(e => e.Value.Length > 0).ToDictionary());
        }
        var email = request.Email.Trim().ToLowerInvariant();
        var throttle = new SignInThrottle(services.Limiter, services.Limits, email,
            ClientAddress.Of(http, services.Settings.ClientAddressKey, DateTimeOffset.UtcNow));
        if (await throttle.RefusedAsync() is { } refused)
        {
            return (ProblemHttpResult)RateLimitFilter.TooManyRequests(http, refused, "Too many failed sign-ins for this account");
        }
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT id, password_hash FROM runtime.admin_users WHERE email = @email", new { email });
        // An unknown email costs the same hash as a known one: the time of the answer says nothing.
        if (!services.Passwords.Verify(user?.PasswordHash, request.Password) || user is null)
        {
            await throttle.FailedAsync();
            return Unauthorized("The email or password is wrong.");
        }

        var workspace = request.WorkspaceId;
        if (request.InvitationId is { } invitation)
        {
            // Signing in with an invitation's id accepts it: how someone without a workspace yet joins one.
            workspace = await InvitationsApi.AcceptAsync(connection, invitation, user.Id, cancellationToken);
            if (workspace is null)
            {
                return TypedResults.Problem("No such invitation for this account.", statusCode: StatusCodes.Status404NotFound);
            }
        }
        var membership = (await MembershipsAsync(connection, user.Id)).FirstOrDefault(m => workspace is null || m.WorkspaceId == workspace);
        if (membership is null)
        {
            // The password was right: the person may see what they are invited to, and accept by signing in with its id.
            var invitations = await connection.QueryAsync<InvitationRow>("""
                SELECT i.id, w.name AS workspace_name, i.role FROM runtime.invitations i JOIN runtime.workspaces w ON w.id = i.workspace_id
                WHERE i.email = @email ORDER BY i.created_at
                """, new { email });
            return TypedResults.Problem("This admin is not a member of that workspace.", statusCode: StatusCodes.Status403Forbidden,
                extensions: new Dictionary<string, object?> { ["invitations"] = invitations.ToList() });
        }
        var session = new Session(Guid.CreateVersion7(), user.Id, DateTime.UtcNow.Add(services.Tokens.DefaultLifetime));
        await connection.ExecuteAsync("INSERT INTO runtime.sessions (id, user_id, expires_at) VALUES (@Id, @UserId, @ExpiresAt)", session);
        return TypedResults.Ok(Token(services.Tokens, session, membership));
    }

    public sealed record SwitchRequest(Guid WorkspaceId);

    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> SwitchWorkspace(
        SwitchRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, AdminTokens tokens, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(user.SubjectOf(), out var userId))
        {
            return TypedResults.Problem("API-key tokens belong to one workspace.", statusCode: StatusCodes.Status403Forbidden);
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var session = await connection.QuerySingleOrDefaultAsync<Session>(
            "SELECT id, user_id, expires_at FROM runtime.sessions WHERE id = @id AND user_id = @userId AND revoked_at IS NULL",
            new { id = user.SessionIdOf(), userId });
        var membership = (await MembershipsAsync(connection, userId)).FirstOrDefault(m => m.WorkspaceId == request.WorkspaceId);
        return membership is null || session is null
            ? TypedResults.Problem("You are not a member of that workspace.", statusCode: StatusCodes.Status403Forbidden)
            : TypedResults.Ok(Token(tokens, session, membership));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> SignOut(
        ClaimsPrincipal user, NpgsqlDataSource dataSource, TokenRevocation revocation, IConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(user.SubjectOf(), out var userId))
        {
            return TypedResults.Problem("An API key's token is ended by revoking the key.", statusCode: StatusCodes.Status400BadRequest);
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync("UPDATE runtime.sessions SET revoked_at = now() WHERE id = @id AND user_id = @userId AND revoked_at IS NULL",
            new { id = user.SessionIdOf(), userId });
        await revocation.ChangedAsync(redis);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<IReadOnlyList<Membership>>> MyWorkspaces(ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return TypedResults.Ok(Guid.TryParse(user.SubjectOf(), out var userId)
            ? (await MembershipsAsync(connection, userId)).Select(m => new Membership(m.WorkspaceId, m.Slug, m.Name, m.Role)).ToList()
            : (IReadOnlyList<Membership>)[]);
    }

    private static async Task<IReadOnlyList<MembershipRow>> MembershipsAsync(NpgsqlConnection connection, Guid userId) =>
        (await connection.QueryAsync<MembershipRow>("""
            SELECT w.id AS workspace_id, w.slug, w.name, m.role, m.security_stamp
            FROM runtime.workspace_members m JOIN runtime.workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = @userId ORDER BY w.created_at
            """, new { userId })).ToList();

    private sealed record ApiKeyRow(Guid Id, Guid WorkspaceId, string Role);

    public sealed record InvitationRow(Guid Id, string WorkspaceName, string Role);

    private sealed record UserRow(Guid Id, string PasswordHash);

    private sealed record MembershipRow(Guid WorkspaceId, string Slug, string Name, string Role, Guid SecurityStamp);

    private sealed record Session(Guid Id, Guid UserId, DateTime ExpiresAt);

    private static TokenResponse Token(AdminTokens tokens, Session session, MembershipRow membership) => new(
        tokens.ForSession(session.UserId, session.Id, membership.WorkspaceId, membership.Role, membership.SecurityStamp, DateTime.SpecifyKind(session.ExpiresAt, DateTimeKind.Utc)),
        "Bearer", (int)Math.Max(0, (session.ExpiresAt - DateTime.UtcNow).TotalSeconds), membership.WorkspaceId, membership.Role, session.UserId.ToString());

    private static ProblemHttpResult Unauthorized(string detail) =>
        TypedResults.Problem(detail, title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
}

/// <summary>
/// Failed password sign-ins are limited per account and client address (so one person guessing
/// cannot lock anyone else out, and a victim at another address still signs in) and per account
/// across all addresses (a distributed guess). Only failures count; the address is the real
/// client's (ClientAddress: Admin.Web forwards the browser's, signed).
/// </summary>
public sealed class SignInThrottle(RateLimiter limiter, PublicLimits limits, string email, string address)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly string _accountAndAddress = $"auth-failed:{Hash(email)}:{address}";
    private readonly string _account = $"auth-failed:{Hash(email)}";

    public async Task<RateLimitDecision?> RefusedAsync()
    {
        foreach (var (key, limit) in new[] { (_accountAndAddress, limits.FailedSignInsPerAccountAndIpPerMinute), (_account, limits.FailedSignInsPerAccountPerMinute) })
        {
            if (await limiter.PeekAsync(key, limit) is { Allowed: false } refused)
            {
                return refused;
            }
        }
        return null;
    }

    public Task FailedAsync() => limiter.TryAcquireAllAsync([
        new RateLimitKey(_accountAndAddress, int.MaxValue, Window), new RateLimitKey(_account, int.MaxValue, Window)]);

    // Emails are personal data: Redis keys carry a hash of them.
    private static string Hash(string email) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..32];
}

public static class ApiKeys
{
    public static string NewKey() => "fk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.Trim())));
}
