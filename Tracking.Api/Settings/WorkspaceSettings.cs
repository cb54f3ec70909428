using Dapper;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>A workspace's tracking settings; defaults when the workspace never saved any.</summary>
public sealed record WorkspaceSettings(
    Guid WorkspaceId, string? CrmSecret, string VisitorField, string StorageKey, string? AttributionKeyHash, bool AttributionKeyRequired)
{
    public const string DefaultVisitorField = "fid_vid";
    public const string DefaultStorageKey = "_ud";

    public static async Task<WorkspaceSettings> LoadAsync(NpgsqlConnection connection, Guid workspaceId) =>
        await connection.QuerySingleOrDefaultAsync<WorkspaceSettings>("""
            SELECT workspace_id, crm_secret, visitor_field, storage_key, attribution_key_hash, attribution_key_required
            FROM tracking.workspace_settings WHERE workspace_id = @workspaceId
            """, new { workspaceId })
        ?? new WorkspaceSettings(workspaceId, null, DefaultVisitorField, DefaultStorageKey, null, AttributionKeyRequired: true);
}
