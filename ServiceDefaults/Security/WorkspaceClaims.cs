using System.Security.Claims;

namespace Funnels.ServiceDefaults.Security;

public static class Roles
{
    public const string Owner = "owner";
    public const string Editor = "editor";
    public const string Viewer = "viewer";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Owner, Editor, Viewer]);
}

/// <summary>The claims of an admin bearer token: who, in which workspace, with which role.</summary>
public static class WorkspaceClaims
{
    public const string Subject = "sub";
    public const string WorkspaceId = "workspace_id";
    public const string Role = "role";

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
}
