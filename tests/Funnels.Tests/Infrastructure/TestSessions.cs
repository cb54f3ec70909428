using Dapper;
using Funnels.ServiceDefaults.Security;
using Npgsql;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// The rows a sign-in leaves behind, written directly so a test can hold a token of any role in any
/// workspace without a password round trip: a fresh admin account, its membership (with the security
/// stamp the token carries) and an open session. Every service checks these rows on each request
/// (TokenRevocation), so a token made any other way is refused.
/// </summary>
public static class TestSessions
{
    public static string Issue(NpgsqlDataSource dataSource, AdminTokens tokens, Guid workspaceId, string role)
    {
        var (user, session, stamp) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.NewGuid());
        var expires = DateTimeOffset.UtcNow.Add(tokens.DefaultLifetime);
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        connection.Execute("""
            INSERT INTO runtime.admin_users (id, email, password_hash) VALUES (@user, @email, 'no password: a test session');
            INSERT INTO runtime.workspace_members (workspace_id, user_id, role, security_stamp) VALUES (@workspaceId, @user, @role, @stamp);
            INSERT INTO runtime.sessions (id, user_id, expires_at) VALUES (@session, @user, @expires);
            """, new { user, email = $"tests-{user:N}@funnels.test", workspaceId, role, stamp, session, expires }, transaction);
        transaction.Commit();
        return tokens.ForSession(user, session, workspaceId, role, stamp, expires);
    }
}
