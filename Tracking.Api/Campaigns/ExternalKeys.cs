using Dapper;
using Funnels.ServiceDefaults.Contacts;
using Npgsql;

namespace Funnels.Tracking.Campaigns;

/// <summary>
/// A campaign or influencer is named by our UUID or by the workspace's external key for it
/// (format: <see cref="ExternalKeyFormat"/>, shared with the worker's filters).
/// </summary>
public static class ExternalKeys
{
    public const int MaxLength = ExternalKeyFormat.MaxLength;

    public const string Rule = ExternalKeyFormat.Rule;

    public const string ReferenceRule = ExternalKeyFormat.ReferenceRule;

    public static bool IsValid(string key) => ExternalKeyFormat.IsValid(key);

    public static bool IsReference(string reference) => ExternalKeyFormat.IsReference(reference);

    /// <summary>
    /// The campaign a reference names, with its workspace; by UUID in any workspace (the caller checks
    /// the workspace), by external key only within <paramref name="workspace"/>, which must be known.
    /// </summary>
    public static Task<Named?> CampaignAsync(NpgsqlConnection connection, Guid? workspace, string reference) =>
        FindAsync(connection, "campaigns", workspace, reference);

    public static Task<Named?> InfluencerAsync(NpgsqlConnection connection, Guid? workspace, string reference) =>
        FindAsync(connection, "influencers", workspace, reference);

    /// <summary>The one a reference names within the workspace, or null (another workspace's is as unknown as none).</summary>
    public static async Task<Guid?> CampaignInAsync(NpgsqlConnection connection, Guid workspace, string reference) =>
        await CampaignAsync(connection, workspace, reference) is { } named && named.WorkspaceId == workspace ? named.Id : null;

    public static async Task<Guid?> InfluencerInAsync(NpgsqlConnection connection, Guid workspace, string reference) =>
        await InfluencerAsync(connection, workspace, reference) is { } named && named.WorkspaceId == workspace ? named.Id : null;

    public sealed record Named(Guid Id, Guid WorkspaceId);

    private static async Task<Named?> FindAsync(NpgsqlConnection connection, string table, Guid? workspace, string reference)
    {
        if (Guid.TryParse(reference, out var id))
        {
            return await connection.QuerySingleOrDefaultAsync<Named>(
                $"SELECT id, workspace_id FROM tracking.{table} WHERE id = @id", new { id });
        }
        if (workspace is null || !IsValid(reference)) return null;
        return await connection.QuerySingleOrDefaultAsync<Named>(
            $"SELECT id, workspace_id FROM tracking.{table} WHERE workspace_id = @workspace AND external_key = @reference", new { workspace, reference });
    }

    /// <summary>The unique index that a second campaign or influencer with the same key violates.</summary>
    public static bool IsDuplicate(PostgresException ex) =>
        ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName is "campaigns_external_key" or "influencers_external_key";
}
