using System.Security.Claims;
using Funnels.Admin.Api;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Funnels.Admin.Infrastructure;

/// <summary>
/// The signed-in admin: the cookie carries the bearer token Runtime.Api issued (encrypted by data
/// protection, never shown to the browser's scripts) with the workspace and role it is for.
/// </summary>
public static class AdminUser
{
    public const string AccessToken = "access_token";
    public const string WorkspaceId = "workspace_id";
    public const string Role = "role";
    public const string Email = "email";
    public const string EditorPolicy = "editor";
    public const string OwnerPolicy = "owner";
    public const string OperatorPolicy = "operator";

    public static Task SignInAsync(HttpContext http, string email, TokenResponse token)
    {
        var identity = new ClaimsIdentity([
            new Claim(ClaimTypes.Name, email),
            new Claim(Email, email),
            new Claim(AccessToken, token.AccessToken),
            new Claim(WorkspaceId, token.WorkspaceId.ToString()),
            new Claim(Role, token.Role),
        ], CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, Role);
        return http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity),
            new AuthenticationProperties { ExpiresUtc = DateTimeOffset.UtcNow.AddSeconds(token.ExpiresIn), IsPersistent = false });
    }

    public static bool CanEdit(this ClaimsPrincipal user) => user.FindFirstValue(Role) is "owner" or "editor";

    public static bool IsOwner(this ClaimsPrincipal user) => user.FindFirstValue(Role) == "owner";

    /// <summary>An owner of the operator workspace: install-wide stores (dead letters) are theirs, as the APIs decide.</summary>
    public static bool IsOperator(this ClaimsPrincipal user) => user.IsOwner() && user.Workspace() == WorkspaceClaims.OperatorWorkspaceId;

    public static string RoleName(this ClaimsPrincipal user) => user.FindFirstValue(Role) ?? "viewer";

    public static Guid Workspace(this ClaimsPrincipal user) => Guid.TryParse(user.FindFirstValue(WorkspaceId), out var id) ? id : Guid.Empty;
}

/// <summary>Adds the signed-in admin's bearer token to every call Admin.Web makes to the APIs.</summary>
public sealed class BearerTokenHandler(IHttpContextAccessor http) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = http.HttpContext?.User.FindFirst(AdminUser.AccessToken)?.Value;
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return base.SendAsync(request, cancellationToken);
    }
}
