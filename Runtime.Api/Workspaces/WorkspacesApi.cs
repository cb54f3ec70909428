using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.Workspaces;

/// <summary>The current workspace: its members and API keys (owners only), and new workspaces.</summary>
public static class WorkspacesApi
{
    public static void MapWorkspacesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/workspaces").WithTags("Workspaces");

        api.MapPost("/", CreateWorkspace).WithName("CreateWorkspace")
            .WithSummary("Create a workspace; the caller becomes its owner").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/current/members", ListMembers).WithName("ListMembers")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapPut("/current/members", PutMember).WithName("PutMember")
            .WithSummary("Add an admin to the workspace (creating the account if new) or change their role")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapPost("/current/api-keys", CreateApiKey).WithName("CreateApiKey")
            .WithSummary("A new API key; the key itself is shown only in this answer").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/current/api-keys/{id:guid}", RevokeApiKey).WithName("RevokeApiKey")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record WorkspaceRequest(string? Name, string? Slug);

    public sealed record Workspace(Guid Id, string Slug, string Name);

    public static async Task<Results<Created<Workspace>, ValidationProblem, ProblemHttpResult>> CreateWorkspace(
        WorkspaceRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, IMessageContext messages, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        if (request.Slug is null || !Slugs.IsValid(request.Slug)) errors["slug"] = [Slugs.Rule];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        if (!Guid.TryParse(user.SubjectOf(), out var userId))
        {
            return TypedResults.Problem("API-key tokens cannot create workspaces.", statusCode: StatusCodes.Status403Forbidden);
        }

        var workspace = new Workspace(Guid.CreateVersion7(), request.Slug!, request.Name!.Trim());
        // The workspace and its WorkspaceCreated commit together: other services hear of every workspace, once.
        var created = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var row = await transaction.Connection!.QuerySingleOrDefaultAsync<WorkspaceAnnouncements.Announced>("""
                INSERT INTO runtime.workspaces (id, slug, name, announced_at) VALUES (@Id, @Slug, @Name, now()) ON CONFLICT (slug) DO NOTHING
                RETURNING id, slug, name, created_at
                """, workspace, transaction);
            if (row is null)
            {
                return false;
            }
            await transaction.Connection!.ExecuteAsync(
                "INSERT INTO runtime.workspace_members (workspace_id, user_id, role) VALUES (@workspace, @user, 'owner')",
                new { workspace = workspace.Id, user = userId }, transaction);
            await messages.PublishAsync(row.ToMessage());
            return true;
        }, cancellationToken);
        if (!created)
        {
            return TypedResults.Problem($"A workspace with slug '{workspace.Slug}' exists.", title: "Slug taken", statusCode: StatusCodes.Status409Conflict);
        }
        return TypedResults.Created($"/api/runtime/workspaces/{workspace.Id}", workspace);
    }

    public sealed record Member(Guid UserId, string Email, string Role, DateTime AddedAt);

    public static async Task<Ok<IReadOnlyList<Member>>> ListMembers(ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var members = await connection.QueryAsync<Member>("""
            SELECT u.id AS user_id, u.email, m.role, m.added_at FROM runtime.workspace_members m
            JOIN runtime.admin_users u ON u.id = m.user_id WHERE m.workspace_id = @workspace ORDER BY u.email
            """, new { workspace = user.WorkspaceIdOf() });
        return TypedResults.Ok<IReadOnlyList<Member>>(members.ToList());
    }

    public sealed record MemberRequest(string? Email, string? Role, string? Password);

    public static async Task<Results<Ok<Member>, ValidationProblem>> PutMember(
        MemberRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Email) || !request.Email.Contains('@')) errors["email"] = ["must be an email address"];
        if (request.Role is null || !Roles.All.Contains(request.Role)) errors["role"] = ["must be owner, editor or viewer"];
        if (request.Password is { Length: > 0 and < 12 }) errors["password"] = ["must be at least 12 characters"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var email = request.Email!.Trim().ToLowerInvariant();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var userId = await connection.ExecuteScalarAsync<Guid?>("SELECT id FROM runtime.admin_users WHERE email = @email", new { email }, transaction);
        if (userId is null)
        {
            if (string.IsNullOrEmpty(request.Password))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["password"] = ["is required for a new admin"] });
            }
            userId = Guid.CreateVersion7();
            await connection.ExecuteAsync("INSERT INTO runtime.admin_users (id, email, password_hash) VALUES (@id, @email, @hash)",
                new { id = userId, email, hash = Passwords.Hash(request.Password) }, transaction);
        }
        var member = await connection.QuerySingleAsync<Member>("""
            INSERT INTO runtime.workspace_members (workspace_id, user_id, role) VALUES (@workspace, @user, @role)
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role
            RETURNING user_id, @email AS email, role, added_at
            """, new { workspace = user.WorkspaceIdOf(), user = userId, role = request.Role, email }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Ok(member);
    }

    public sealed record ApiKeyRequest(string? Name, string? Role);

    public sealed record NewApiKey(Guid Id, string Name, string Role, string Key);

    public static async Task<Results<Created<NewApiKey>, ValidationProblem>> CreateApiKey(
        ApiKeyRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        if (request.Role is null || !Roles.All.Contains(request.Role)) errors["role"] = ["must be owner, editor or viewer"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var key = new NewApiKey(Guid.CreateVersion7(), request.Name!.Trim(), request.Role!, ApiKeys.NewKey());
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(
            "INSERT INTO runtime.api_keys (id, workspace_id, name, key_hash, role) VALUES (@id, @workspace, @name, @hash, @role)",
            new { id = key.Id, workspace = user.WorkspaceIdOf(), name = key.Name, hash = ApiKeys.HashOf(key.Key), role = key.Role });
        return TypedResults.Created($"/api/runtime/workspaces/current/api-keys/{key.Id}", key);
    }

    public static async Task<Results<NoContent, NotFound>> RevokeApiKey(Guid id, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync(
            "UPDATE runtime.api_keys SET revoked_at = now() WHERE id = @id AND workspace_id = @workspace AND revoked_at IS NULL",
            new { id, workspace = user.WorkspaceIdOf() });
        return revoked == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}

public static class Slugs
{
    public const string Rule = "must be 2-63 lowercase letters, digits or '-', starting with a letter or digit";

    public static bool IsValid(string slug) =>
        slug.Length is >= 2 and <= 63 && char.IsAsciiLetterOrDigit(slug[0]) && slug.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
