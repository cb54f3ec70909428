using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Runtime.Workspaces;

/// <summary>
/// The signed-in admin's pending invitations (made by an owner's PUT members): accept to join the
/// workspace with the invited role, or decline. Nobody joins a workspace without accepting; someone
/// without a workspace yet accepts by signing in with the invitation's id (auth/token).
/// </summary>
public static class InvitationsApi
{
    public static void MapInvitationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/auth/invitations").WithTags("Auth").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", MyInvitations).WithName("MyInvitations").WithSummary("Invitations waiting for the signed-in admin's email");
        api.MapPost("/{id:guid}/accept", Accept).WithName("AcceptInvitation").WithSummary("Join the invitation's workspace");
        api.MapDelete("/{id:guid}", Decline).WithName("DeclineInvitation").WithSummary("Decline an invitation");
    }

    public sealed record Invitation(Guid Id, Guid WorkspaceId, string WorkspaceName, string Role, string InvitedBy, DateTime CreatedAt);

    public static async Task<Ok<IReadOnlyList<Invitation>>> MyInvitations(ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(user.SubjectOf(), out var userId))
        {
            return TypedResults.Ok<IReadOnlyList<Invitation>>([]);
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var invitations = await connection.QueryAsync<Invitation>("""
            SELECT i.id, i.workspace_id, w.name AS workspace_name, i.role, coalesce(b.email, 'an API key') AS invited_by, i.created_at
            FROM runtime.invitations i JOIN runtime.workspaces w ON w.id = i.workspace_id
            JOIN runtime.admin_users u ON u.email = i.email LEFT JOIN runtime.admin_users b ON b.id::text = i.invited_by
            WHERE u.id = @userId AND NOT EXISTS (SELECT 1 FROM runtime.workspace_members m WHERE m.workspace_id = i.workspace_id AND m.user_id = u.id)
            ORDER BY i.created_at
            """, new { userId });
        return TypedResults.Ok<IReadOnlyList<Invitation>>(invitations.ToList());
    }

    public static async Task<Results<Ok<AuthApi.Membership>, NotFound>> Accept(Guid id, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(user.SubjectOf(), out var userId))
        {
            return TypedResults.NotFound();
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await AcceptAsync(connection, id, userId, cancellationToken) is not { } workspace)
        {
            return TypedResults.NotFound();
        }
        return TypedResults.Ok(await connection.QuerySingleAsync<AuthApi.Membership>("""
            SELECT w.id AS workspace_id, w.slug, w.name, m.role FROM runtime.workspace_members m JOIN runtime.workspaces w ON w.id = m.workspace_id
            WHERE m.workspace_id = @workspace AND m.user_id = @userId
            """, new { workspace, userId }));
    }

    public static async Task<Results<NoContent, NotFound>> Decline(Guid id, ClaimsPrincipal user, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var declined = Guid.TryParse(user.SubjectOf(), out var userId) && await connection.ExecuteAsync("""
            DELETE FROM runtime.invitations i USING runtime.admin_users u WHERE i.id = @id AND u.id = @userId AND u.email = i.email
            """, new { id, userId }) == 1;
        return declined ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    /// <summary>
    /// The invitation, if it is for this account's email, becomes a membership (an existing one
    /// keeps its role) and is gone; returns its workspace, or null when there is no such invitation.
    /// </summary>
    public static async Task<Guid?> AcceptAsync(NpgsqlConnection connection, Guid invitationId, Guid userId, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var invitation = await connection.QuerySingleOrDefaultAsync<(Guid WorkspaceId, string Role)>("""
            DELETE FROM runtime.invitations i USING runtime.admin_users u
            WHERE i.id = @invitationId AND u.id = @userId AND u.email = i.email
            RETURNING i.workspace_id, i.role
            """, new { invitationId, userId }, transaction);
        if (invitation == default)
        {
            return null;
        }
        await connection.ExecuteAsync("""
            INSERT INTO runtime.workspace_members (workspace_id, user_id, role) VALUES (@WorkspaceId, @userId, @Role) ON CONFLICT DO NOTHING
            """, new { invitation.WorkspaceId, userId, invitation.Role }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return invitation.WorkspaceId;
    }
}
