using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// Issues the bearer tokens the admin APIs accept. Runtime.Api issues them for a sign-in session
/// (sign-in, workspace switch) or an API key; every service checks on each request that the
/// session or key behind the token still stands (TokenRevocation).
/// </summary>
public sealed class AdminTokens(AuthSettings settings)
{
    public TimeSpan DefaultLifetime { get; } = TimeSpan.FromHours(8);

    /// <summary>A member's token: <paramref name="sessionId"/> is the sign-in, <paramref name="stamp"/> the membership's security stamp.</summary>
    public string ForSession(Guid userId, Guid sessionId, Guid workspaceId, string role, Guid stamp, DateTimeOffset expires) =>
        Issue([
            new Claim(WorkspaceClaims.Subject, userId.ToString()),
            new Claim(WorkspaceClaims.SessionId, sessionId.ToString()),
            new Claim(WorkspaceClaims.Stamp, stamp.ToString()),
        ], workspaceId, role, expires);

    /// <summary>An API key's token: the subject names the key, and the key's revocation ends the token.</summary>
    public string ForApiKey(Guid keyId, Guid workspaceId, string role) =>
        Issue([
            new Claim(WorkspaceClaims.Subject, WorkspaceClaims.ApiKeySubjectPrefix + keyId),
            new Claim(WorkspaceClaims.SessionId, keyId.ToString()),
        ], workspaceId, role, DateTimeOffset.UtcNow.Add(DefaultLifetime));

    private string Issue(IEnumerable<Claim> claims, Guid workspaceId, string role, DateTimeOffset expires)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity([
                .. claims,
                new Claim(WorkspaceClaims.WorkspaceId, workspaceId.ToString()),
                new Claim(WorkspaceClaims.Role, role),
            ]),
            SigningCredentials = new SigningCredentials(settings.SigningKey(), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>Signs arbitrary claims: only for tests proving that token shapes we never issue are refused.</summary>
    public string IssueRaw(IEnumerable<Claim> claims, TimeSpan lifetime) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = settings.Issuer,
        Audience = settings.Audience,
        Expires = DateTime.UtcNow.Add(lifetime),
        Subject = new ClaimsIdentity(claims),
        SigningCredentials = new SigningCredentials(settings.SigningKey(), SecurityAlgorithms.HmacSha256),
    });
}
