using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Runtime.Workspaces;

/// <summary>Sign-in for the admin panel and for machines: exchanges a password or an API key for a bearer token.</summary>
public static class AuthApi
{
    public static void MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/auth").WithTags("Auth");
        var limits = app.ServiceProvider.GetRequiredService<Events.PublicLimits>();

        api.MapPost("/token", IssueToken)
            .WithName("IssueToken")
            .WithSummary("Exchange an email and password (optionally naming a workspace), or an API key, for a bearer token")
            .RequireRateLimit(new RateLimit("auth-token", limits.SignInsPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
        api.MapPost("/switch", SwitchWorkspace)
            .WithName("SwitchWorkspace")
            .WithSummary("A token for another workspace the signed-in admin belongs to")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/workspaces", MyWorkspaces)
            .WithName("MyWorkspaces")
            .WithSummary("The workspaces the signed-in admin belongs to, with the role in each")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
    }

    public sealed record TokenRequest(string? Email, string? Password, Guid? WorkspaceId, string? ApiKey);

    public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, Guid WorkspaceId, string Role, string Subject);

    public sealed record Membership(Guid WorkspaceId, string Slug, string Name, string Role);

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> IssueToken(
        TokenRequest request, NpgsqlDataSource dataSource, AdminTokens tokens, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!string.IsNullOrWhiteSpace(request.ApiKey))
        {
            var key = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
                "SELECT id, workspace_id, role FROM runtime.api_keys WHERE key_hash = @hash AND revoked_at IS NULL",
                new { hash = ApiKeys.HashOf(request.ApiKey) });
            return key is { } k
                ? TypedResults.Ok(Token(tokens, $"api-key:{k.Id}", k.WorkspaceId, k.Role))
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
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT id, password_hash FROM runtime.admin_users WHERE email = @email",
            new { email = request.Email.Trim().ToLowerInvariant() });
        if (user is not { } u || !Passwords.Verify(u.PasswordHash, request.Password))
        {
            return Unauthorized("The email or password is wrong.");
        }
        var membership = (await MembershipsAsync(connection, u.Id))
            .FirstOrDefault(m => request.WorkspaceId is null || m.WorkspaceId == request.WorkspaceId);
        return membership is null
            ? TypedResults.Problem("This admin is not a member of that workspace.", statusCode: StatusCodes.Status403Forbidden)
            : TypedResults.Ok(Token(tokens, u.Id.ToString(), membership.WorkspaceId, membership.Role));
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
        var membership = (await MembershipsAsync(connection, userId)).FirstOrDefault(m => m.WorkspaceId == request.WorkspaceId);
        return membership is null
            ? TypedResults.Problem("You are not a member of that workspace.", statusCode: StatusCodes.Status403Forbidden)
            : TypedResults.Ok(Token(tokens, userId.ToString(), membership.WorkspaceId, membership.Role));
    }

    public static async Task<Ok<IReadOnlyList<Membership>>> MyWorkspaces(ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return TypedResults.Ok(Guid.TryParse(user.SubjectOf(), out var userId)
            ? await MembershipsAsync(connection, userId)
            : (IReadOnlyList<Membership>)[]);
    }

    private static async Task<IReadOnlyList<Membership>> MembershipsAsync(NpgsqlConnection connection, Guid userId) =>
        (await connection.QueryAsync<Membership>("""
            SELECT w.id AS workspace_id, w.slug, w.name, m.role
            FROM runtime.workspace_members m JOIN runtime.workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = @userId ORDER BY w.created_at
            """, new { userId })).ToList();

    private sealed record ApiKeyRow(Guid Id, Guid WorkspaceId, string Role);

    private sealed record UserRow(Guid Id, string PasswordHash);

    private static TokenResponse Token(AdminTokens tokens, string subject, Guid workspaceId, string role) =>
        new(tokens.Issue(subject, workspaceId, role), "Bearer", (int)tokens.DefaultLifetime.TotalSeconds, workspaceId, role, subject);

    private static ProblemHttpResult Unauthorized(string detail) =>
        TypedResults.Problem(detail, title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
}

public static class ApiKeys
{
    public static string NewKey() => "fk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.Trim())));
}
