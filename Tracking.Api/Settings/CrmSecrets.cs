using System.Security.Cryptography;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Linking.Crm;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// The workspace's CRM secret (the first GoHighLevel webhook's, <c>POST /api/tracking/settings/crm-secret</c>),
/// kept encrypted in workspace_settings.crm_secret_protected (<see cref="SecretProtector"/>, purpose bound to
/// the workspace). Before migration 0010 it was kept in plain text in crm_secret; SQL cannot encrypt, so
/// Tracking.Api moves such a value itself, at start-up (<see cref="CrmSecretsAtStartup"/>) and when a
/// delivery first reads it. Every write since stores ciphertext and clears crm_secret, so a plain-text
/// value still there is the newest one (an instance of the older version rotated it) and wins.
/// </summary>
public static class CrmSecrets
{
    /// <summary>Distinct from the adapters' purposes (<see cref="CrmAdapterSettings.Purpose"/>): a ciphertext copied from another row does not decrypt here.</summary>
    public static string Purpose(Guid workspaceId) => $"crm-secret:{workspaceId}";

    /// <summary>A new secret for the workspace, stored encrypted (the plain-text column cleared); the caller checked <see cref="SecretProtector.CanProtect"/>.</summary>
    public static async Task<string> RotateAsync(NpgsqlConnection connection, Guid workspaceId, SecretProtector secrets)
    {
        var secret = CrmAuth.NewSecret();
        await connection.ExecuteAsync("""
            INSERT INTO tracking.workspace_settings (workspace_id, crm_secret_protected) VALUES (@workspaceId, @protectedSecret)
            ON CONFLICT (workspace_id) DO UPDATE SET crm_secret_protected = EXCLUDED.crm_secret_protected, crm_secret = NULL, updated_at = now()
            """, new { workspaceId, protectedSecret = secrets.Protect(secret, Purpose(workspaceId)) });
        return secret;
    }

    /// <summary>The workspace's secret for checking a delivery, or null when it has none; throws CryptographicException when its ciphertext does not decrypt here.</summary>
    public static string? Unprotected(WorkspaceSettings settings, SecretProtector secrets) =>
        settings.PlaintextCrmSecret
        ?? (settings.CrmSecretProtected is { } protectedSecret ? secrets.Unprotect(protectedSecret, Purpose(settings.WorkspaceId)) : null);

    /// <summary>
    /// Encrypts the workspace's secret when it is still kept in plain text and this installation can
    /// (else it keeps working as it is, and is counted).
    /// </summary>
    public static async Task ProtectIfPlaintextAsync(NpgsqlConnection connection, WorkspaceSettings settings, SecretProtector secrets, CrmMetrics metrics, ILogger logger)
    {
        if (settings.PlaintextCrmSecret is not { } plaintext || !secrets.CanProtect)
        {
            return;
        }
        try
        {
            if (await ProtectPlaintextAsync(connection, settings.WorkspaceId, plaintext, secrets))
            {
                metrics.PlaintextSecret("protected_on_first_use");
                logger.LogInformation("The CRM secret of workspace {WorkspaceId} was kept in plain text: encrypted now", settings.WorkspaceId);
            }
        }
        // The key ring may not be readable yet (Runtime.Api creates its first key): the secret stays as it is until it is read again.
        catch (Exception ex) when (ex is InvalidOperationException or CryptographicException or NpgsqlException)
        {
            metrics.PlaintextSecret("not_protected");
            logger.LogWarning(ex, "The CRM secret of workspace {WorkspaceId} is kept in plain text and could not be encrypted yet", settings.WorkspaceId);
        }
    }

    /// <summary>
    /// Encrypts a plain-text secret in place. Idempotent and safe with several instances: the row is
    /// changed only while it still holds that plain text, so a second mover, or a rotation in
    /// between, leaves it alone (false).
    /// </summary>
    public static async Task<bool> ProtectPlaintextAsync(NpgsqlConnection connection, Guid workspaceId, string plaintext, SecretProtector secrets) =>
        await connection.ExecuteAsync("""
            UPDATE tracking.workspace_settings SET crm_secret_protected = @protectedSecret, crm_secret = NULL
            WHERE workspace_id = @workspaceId AND crm_secret = @plaintext
            """, new { workspaceId, plaintext, protectedSecret = secrets.Protect(plaintext, Purpose(workspaceId)) }) == 1;

    /// <summary>The workspaces whose CRM secret is still in plain text.</summary>
    public static async Task<IReadOnlyList<(Guid WorkspaceId, string Plaintext)>> PlaintextAsync(NpgsqlConnection connection) =>
        (await connection.QueryAsync<(Guid, string)>("SELECT workspace_id, crm_secret FROM tracking.workspace_settings WHERE crm_secret IS NOT NULL")).ToList();
}
