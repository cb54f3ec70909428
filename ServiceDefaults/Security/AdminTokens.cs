using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Funnels.ServiceDefaults.Security;

/// <summary>Issues the bearer tokens the admin APIs accept (sign-in, and tests).</summary>
public sealed class AdminTokens(AuthSettings settings)
{
    public TimeSpan DefaultLifetime { get; } = TimeSpan.FromHours(8);

    public string Issue(string subject, Guid workspaceId, string role, TimeSpan? lifetime = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            Expires = DateTime.UtcNow.Add(lifetime ?? DefaultLifetime),
            Subject = new ClaimsIdentity([
                new Claim(WorkspaceClaims.Subject, subject),
                new Claim(WorkspaceClaims.WorkspaceId, workspaceId.ToString()),
                new Claim(WorkspaceClaims.Role, role),
            ]),
            SigningCredentials = new SigningCredentials(settings.SigningKey(), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
