using System.Security.Cryptography;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace Funnels.Runtime.Workspaces;

/// <summary>
/// On first start, creates the default workspace (the operator workspace) and its first admin (an owner) from
/// configuration ("Bootstrap" section; AppHost generates the password and keeps it in its
/// secrets). Idempotent and safe with two instances starting at once.
/// </summary>
public sealed class WorkspaceBootstrap(NpgsqlDataSource dataSource, IConfiguration configuration, ILogger<WorkspaceBootstrap> logger) : IHostedService
{
    public static readonly Guid DefaultWorkspaceId = WorkspaceClaims.OperatorWorkspaceId;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var section = configuration.GetSection("Bootstrap");
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(
            "INSERT INTO runtime.workspaces (id, slug, name) VALUES (@id, @slug, @name) ON CONFLICT DO NOTHING",
            new { id = DefaultWorkspaceId, slug = section["Workspace:Slug"] ?? "default", name = section["Workspace:Name"] ?? "Default workspace" },
            transaction);

        var email = section["Admin:Email"];
        var password = section["Admin:Password"];
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrWhiteSpace(password))
        {
            logger.LogWarning("No first admin configured (Bootstrap:Admin:Email and Bootstrap:Admin:Password): sign-in needs an existing admin");
        }
        else
        {
            var userId = await connection.ExecuteScalarAsync<Guid?>(
                "INSERT INTO runtime.admin_users (id, email, password_hash) VALUES (@id, @email, @hash) ON CONFLICT (email) DO NOTHING RETURNING id",
                new { id = Guid.CreateVersion7(), email = email.Trim().ToLowerInvariant(), hash = Passwords.Hash(password) }, transaction);
            if (userId is { } created)
            {
                await connection.ExecuteAsync(
                    "INSERT INTO runtime.workspace_members (workspace_id, user_id, role) VALUES (@workspace, @user, 'owner') ON CONFLICT DO NOTHING",
                    new { workspace = DefaultWorkspaceId, user = created }, transaction);
                logger.LogInformation("Created the first admin {Email} as owner of the default workspace", email);
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>PBKDF2 password hashes, as ASP.NET Core Identity makes them.</summary>
public static class Passwords
{
    private static readonly PasswordHasher<object> Hasher = new();
    private static readonly object User = new();

    public static string Hash(string password) => Hasher.HashPassword(User, password);

    public static bool Verify(string hash, string password) =>
        Hasher.VerifyHashedPassword(User, hash, password) is PasswordVerificationResult.Success or PasswordVerificationResult.SuccessRehashNeeded;
}

/// <summary>
/// Checks a sign-in's password. An unknown account is checked against a dummy hash of the same
/// cost, so a wrong email takes as long as a wrong password (no account enumeration by timing).
/// Public and virtual so a test can prove both paths hash.
/// </summary>
public class PasswordCheck
{
    private static readonly string DummyHash = Passwords.Hash(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));

    /// <param name="hash">The account's hash, or null for an unknown account (always false, after the same work).</param>
    public virtual bool Verify(string? hash, string password) => Passwords.Verify(hash ?? DummyHash, password) && hash is not null;
}
