using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using StackExchange.Redis;
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
            .WithSummary("Change a member's role, or invite anyone else (the same answer whether an account exists; they join when they accept)")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapGet("/current/invitations", ListInvitations).WithName("ListInvitations")
            .WithSummary("Invitations not accepted yet").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/current/invitations/{id:guid}", WithdrawInvitation).WithName("WithdrawInvitation")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/current/members/{userId:guid}", RemoveMember).WithName("RemoveMember")
            .WithSummary("Remove a member; their tokens are refused within seconds").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
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

    /// <summary>The answer to inviting anyone who is not yet a member: the same whether the account exists or not.</summary>
    public sealed record Invited(Guid Id, string Email, string Role, string Status);

    public static async Task<Results<Ok<Member>, Accepted<Invited>, ValidationProblem, ProblemHttpResult>> PutMember(
        MemberRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, TokenRevocation revocation, IConnectionMultiplexer redis,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Email) || !request.Email.Contains('@')) errors["email"] = ["must be an email address"];
        if (request.Role is null || !Roles.All.Contains(request.Role)) errors["role"] = ["must be owner, editor or viewer"];
        if (request.Password is { Length: > 0 and < 12 }) errors["password"] = ["must be at least 12 characters"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var email = request.Email!.Trim().ToLowerInvariant();
        var workspace = user.WorkspaceIdOf();
        // Hashed before anything is looked up: a known and an unknown email cost the same.
        var hash = string.IsNullOrEmpty(request.Password) ? null : Passwords.Hash(request.Password);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A member already (the owner sees them in the list anyway): the role changes, and the new
        // security stamp ends every token issued under the old role. The owners' rows are locked
        // first, so two owners demoting each other at once cannot leave the workspace without one.
        await connection.ExecuteAsync("SELECT 1 FROM runtime.workspace_members WHERE workspace_id = @workspace AND role = 'owner' FOR UPDATE",
            new { workspace }, transaction);
        var member = await connection.QuerySingleOrDefaultAsync<Member>("""
            UPDATE runtime.workspace_members m SET role = @role, security_stamp = gen_random_uuid()
            FROM runtime.admin_users u WHERE u.id = m.user_id AND u.email = @email AND m.workspace_id = @workspace
            RETURNING m.user_id, u.email, m.role, m.added_at
            """, new { workspace, email, role = request.Role }, transaction);
        if (member is not null && await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM runtime.workspace_members WHERE workspace_id = @workspace AND role = 'owner'", new { workspace }, transaction) == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return TypedResults.Problem("The last owner cannot be given another role: make someone else an owner first.",
                title: "Last owner", statusCode: StatusCodes.Status409Conflict);
        }
        if (member is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            await revocation.ChangedAsync(redis);
            return TypedResults.Ok(member);
        }
        // Anyone else is invited; an account is made for a new email when a password is given (an
        // existing account's password is never touched). Same answer either way.
        if (hash is not null)
        {
            await connection.ExecuteAsync("INSERT INTO runtime.admin_users (id, email, password_hash) VALUES (@id, @email, @hash) ON CONFLICT (email) DO NOTHING",
                new { id = Guid.CreateVersion7(), email, hash }, transaction);
        }
        var invitation = await connection.QuerySingleAsync<Guid>("""
            INSERT INTO runtime.invitations (id, workspace_id, email, role, invited_by) VALUES (@id, @workspace, @email, @role, @by)
            ON CONFLICT (workspace_id, email) DO UPDATE SET role = EXCLUDED.role, invited_by = EXCLUDED.invited_by, created_at = now()
            RETURNING id
            """, new { id = Guid.CreateVersion7(), workspace, email, role = request.Role, by = user.SubjectOf() }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Accepted("/api/runtime/auth/invitations", new Invited(invitation, email, request.Role!, "invited"));
    }

    public sealed record PendingInvitation(Guid Id, string Email, string Role, DateTime CreatedAt);

    public static async Task<Ok<IReadOnlyList<PendingInvitation>>> ListInvitations(ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var invitations = await connection.QueryAsync<PendingInvitation>(
            "SELECT id, email, role, created_at FROM runtime.invitations WHERE workspace_id = @workspace ORDER BY created_at",
            new { workspace = user.WorkspaceIdOf() });
        return TypedResults.Ok<IReadOnlyList<PendingInvitation>>(invitations.ToList());
    }

    public static async Task<Results<NoContent, NotFound>> WithdrawInvitation(Guid id, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var withdrawn = await connection.ExecuteAsync("DELETE FROM runtime.invitations WHERE id = @id AND workspace_id = @workspace",
            new { id, workspace = user.WorkspaceIdOf() });
        return withdrawn == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> RemoveMember(
        Guid userId, ClaimsPrincipal user, NpgsqlDataSource dataSource, TokenRevocation revocation, IConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var removed = await connection.QuerySingleOrDefaultAsync<int?>("""
            WITH owners AS (SELECT count(*) AS n FROM runtime.workspace_members WHERE workspace_id = @workspace AND role = 'owner')
            DELETE FROM runtime.workspace_members m USING owners
            WHERE m.workspace_id = @workspace AND m.user_id = @userId AND (m.role <> 'owner' OR owners.n > 1)
            RETURNING 1
            """, new { workspace = user.WorkspaceIdOf(), userId });
        if (removed is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(
                "SELECT EXISTS (SELECT 1 FROM runtime.workspace_members WHERE workspace_id = @workspace AND user_id = @userId)",
                new { workspace = user.WorkspaceIdOf(), userId });
            return exists
                ? TypedResults.Problem("The last owner cannot be removed.", title: "Last owner", statusCode: StatusCodes.Status409Conflict)
                : TypedResults.NotFound();
        }
        await revocation.ChangedAsync(redis);
        return TypedResults.NoContent();
    }

    public sealed record ApiKeyRequest(string? Name, string? Role);

    public sealed record NewApiKey(Guid Id, string Name, string Role, string Key);

    public static async Task<Results<Created<NewApiKey>, ValidationProblem, ProblemHttpResult>> CreateApiKey(
        ApiKeyRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        if (request.Role is null || !Roles.All.Contains(request.Role)) errors["role"] = ["must be owner, editor or viewer"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        if (Roles.Rank(request.Role!) > Roles.Rank(user.RoleOf()))
        {
            return TypedResults.Problem("A key cannot have more rights than the token that makes it.", statusCode: StatusCodes.Status403Forbidden);
        }

        var key = new NewApiKey(Guid.CreateVersion7(), request.Name!.Trim(), request.Role!, ApiKeys.NewKey());
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // A key made with a key's token is recorded as its child, and revoked with it.
        await connection.ExecuteAsync("""
            INSERT INTO runtime.api_keys (id, workspace_id, name, key_hash, role, created_by_key) VALUES (@id, @workspace, @name, @hash, @role, @parent)
            """, new { id = key.Id, workspace = user.WorkspaceIdOf(), name = key.Name, hash = ApiKeys.HashOf(key.Key), role = key.Role, parent = user.ApiKeyIdOf() });
        return TypedResults.Created($"/api/runtime/workspaces/current/api-keys/{key.Id}", key);
    }

    public static async Task<Results<NoContent, NotFound>> RevokeApiKey(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource dataSource, TokenRevocation revocation, IConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync("""
            WITH RECURSIVE doomed AS (
                SELECT id FROM runtime.api_keys WHERE id = @id AND workspace_id = @workspace AND revoked_at IS NULL
                UNION SELECT k.id FROM runtime.api_keys k JOIN doomed d ON k.created_by_key = d.id)
            UPDATE runtime.api_keys SET revoked_at = now() WHERE id IN (SELECT id FROM doomed) AND revoked_at IS NULL
            """, new { id, workspace = user.WorkspaceIdOf() });
        if (revoked == 0)
        {
            return TypedResults.NotFound();
        }
        await revocation.ChangedAsync(redis);
        return TypedResults.NoContent();
    }
}

public static class Slugs
{
    public const string Rule = "must be 2-63 lowercase letters, digits or '-', starting with a letter or digit";

    public static bool IsValid(string slug) =>
        slug.Length is >= 2 and <= 63 && char.IsAsciiLetterOrDigit(slug[0]) && slug.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
