using System.Security.Claims;

namespace Funnels.ServiceDefaults.Security;

public static class Roles
{
    public const string Owner = "owner";
    public const string Editor = "editor";
    public const string Viewer = "viewer";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Owner, Editor, Viewer]);

    /// <summary>Viewer 1, editor 2, owner 3; anything else 0.</summary>
    public static int Rank(string role) => role switch { Owner => 3, Editor => 2, Viewer => 1, _ => 0 };
}

/// <summary>The claims of an admin bearer token: who, in which workspace, with which role.</summary>
public static class WorkspaceClaims
{
    public const string Subject = "sub";
    public const string WorkspaceId = "workspace_id";
    public const string Role = "role";

    /// <summary>The sign-in session (or, for an API key's token, the key) the token came from.</summary>
    public const string SessionId = "sid";

    /// <summary>The membership's security stamp when the token was issued; it changes with the role.</summary>
    public const string Stamp = "stamp";

    /// <summary>An API key's token has the subject "api-key:{key id}".</summary>
    public const string ApiKeySubjectPrefix = "api-key:";

    /// <summary>
    /// The workspace created on first start. Its owners operate the installation: install-wide
    /// stores such as Wolverine's dead letters (which belong to no one workspace) are theirs alone.
    /// </summary>
    public static readonly Guid OperatorWorkspaceId = Guid.Parse("00000000-0000-7000-8000-000000000001");

    /// <summary>The workspace every admin query is scoped to; another workspace's rows are never visible.</summary>
    public static Guid WorkspaceIdOf(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(WorkspaceId), out var id)
            ? id
            : throw new InvalidOperationException("The token carries no workspace_id; the admin policy should have refused it.");

    public static string SubjectOf(this ClaimsPrincipal user) => user.FindFirstValue(Subject) ?? "unknown";

    public static string RoleOf(this ClaimsPrincipal user) => user.FindFirstValue(Role) ?? Roles.Viewer;

    /// <summary>The session the token belongs to (checked at authentication, so always present on an admin endpoint).</summary>
    public static Guid SessionIdOf(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(SessionId), out var id) ? id : Guid.Empty;

    /// <summary>The API key behind the token, or null for a member's token.</summary>
    public static Guid? ApiKeyIdOf(this ClaimsPrincipal user) =>
        user.SubjectOf() is { } subject && subject.StartsWith(ApiKeySubjectPrefix, StringComparison.Ordinal)
        && Guid.TryParse(subject.AsSpan(ApiKeySubjectPrefix.Length), out var id) ? id : null;
}

/// <summary>What an admin token must say, read once: anything else is a shape we never issue (401).</summary>
public sealed record TokenShape(Guid WorkspaceId, string Role, Guid SessionId, Guid? UserId, Guid? Stamp, Guid? ApiKeyId)
{
    public static TokenShape? Read(ClaimsPrincipal user)
    {
        if (!Guid.TryParse(user.FindFirstValue(WorkspaceClaims.WorkspaceId), out var workspace)
            || user.FindFirstValue(WorkspaceClaims.Role) is not { } role || !Roles.All.Contains(role)
            || !Guid.TryParse(user.FindFirstValue(WorkspaceClaims.SessionId), out var session)
            || user.FindAll(WorkspaceClaims.WorkspaceId).Count() != 1 || user.FindAll(WorkspaceClaims.Role).Count() != 1)
        {
            return null;
        }
        if (user.ApiKeyIdOf() is { } key)
        {
            return key == session ? new TokenShape(workspace, role, session, null, null, key) : null;
        }
        return Guid.TryParse(user.FindFirstValue(WorkspaceClaims.Subject), out var userId)
            && Guid.TryParse(user.FindFirstValue(WorkspaceClaims.Stamp), out var stamp)
            ? new TokenShape(workspace, role, session, userId, stamp, null)
            : null;
    }
}
