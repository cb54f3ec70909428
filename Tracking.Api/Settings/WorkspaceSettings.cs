using Dapper;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// A workspace's tracking settings; defaults when the workspace never saved any. The CRM secret is
/// CrmSecretProtected (ciphertext), or PlaintextCrmSecret for a value written before it was encrypted
/// (CrmSecrets reads either and moves the latter).
/// </summary>
public sealed record WorkspaceSettings(
    Guid WorkspaceId, string? CrmSecretProtected, string? PlaintextCrmSecret, string VisitorField, string StorageKey, string? AttributionKeyHash,
    bool AttributionKeyRequired)
{
    public const string DefaultVisitorField = "fid_vid";
    public const string DefaultStorageKey = "_ud";

    public bool HasCrmSecret => CrmSecretProtected is not null || PlaintextCrmSecret is not null;

    public static async Task<WorkspaceSettings> LoadAsync(NpgsqlConnection connection, Guid workspaceId) =>
        await connection.QuerySingleOrDefaultAsync<WorkspaceSettings>("""
            SELECT workspace_id, crm_secret_protected, crm_secret AS plaintext_crm_secret, visitor_field, storage_key, attribution_key_hash, attribution_key_required
            FROM tracking.workspace_settings WHERE workspace_id = @workspaceId
            """, new { workspaceId })
        ?? new WorkspaceSettings(workspaceId, null, null, DefaultVisitorField, DefaultStorageKey, null, AttributionKeyRequired: true);
}
