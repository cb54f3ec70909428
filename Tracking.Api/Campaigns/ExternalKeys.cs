using Dapper;
using Npgsql;

namespace Funnels.Tracking.Campaigns;

/// <summary>
/// A campaign or influencer is named by our UUID or by the workspace's external key for it (the id
/// an attribution client already uses, such as cmp-123 or inf-001). A key is never UUID-shaped, so
/// a reference is read as one or the other without guessing.
/// </summary>
public static class ExternalKeys
{
    public const int MaxLength = 64;

    public const string Rule = "must be 1-64 letters, digits, '-', '_', '.' or ':', starting with a letter or digit, and not a UUID";

    public static bool IsValid(string key) =>
        key.Length is >= 1 and <= MaxLength && char.IsAsciiLetterOrDigit(key[0])
        && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':') && !Guid.TryParse(key, out _);

    /// <summary>A UUID or a well-formed external key.</summary>
    public static bool IsReference(string reference) => Guid.TryParse(reference, out _) || IsValid(reference);

    public const string ReferenceRule = "must be a UUID or an external key (1-64 letters, digits, '-', '_', '.' or ':')";

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
