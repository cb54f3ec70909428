using Dapper;
using Funnels.ServiceDefaults.Contacts;
using Npgsql;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// A campaign named in a worker read by our UUID or by the workspace's external key (cmp-123).
/// The key is resolved by a read-only lookup of Tracking.Api's tracking.campaigns, the one place
/// the worker reads another service's table, and it never writes there. Why not carry the key in
/// ConversionRecorded / CampaignTrafficRecorded like the budget: the key is Tracking.Api's and
/// changes (set, cleared, moved to another campaign) without any commission message, so a copy
/// here would answer a filter with the key the campaign had at its last conversion, and know none
/// for keys set since. This is an admin's list, not a hot path: one indexed read (the workspace's
/// unique key index) per request that uses a key, none for a UUID.
/// </summary>
public static class CampaignKeys
{
    public const string ReferenceRule = ExternalKeyFormat.ReferenceRule;

    public static bool IsReference(string reference) => ExternalKeyFormat.IsReference(reference);

    /// <summary>
    /// The campaign's UUID when the workspace has that campaign (by UUID or key), else null: for reads
    /// answering about one campaign, where another workspace's campaign must be 404, not an empty answer.
    /// </summary>
    public static Task<Guid?> FindInAsync(NpgsqlConnection connection, Guid workspace, string reference) =>
        connection.QuerySingleOrDefaultAsync<Guid?>(
            "SELECT id FROM tracking.campaigns WHERE workspace_id = @workspace AND (id = @id OR external_key = @reference)",
            new { workspace, id = Guid.TryParse(reference, out var id) ? id : (Guid?)null, reference });

    /// <summary>The campaign's UUID: a UUID as given, a key only within <paramref name="workspace"/> (null when no campaign there has it).</summary>
    public static async Task<Guid?> ResolveAsync(NpgsqlConnection connection, Guid workspace, string reference) =>
        Guid.TryParse(reference, out var id) ? id : await connection.QuerySingleOrDefaultAsync<Guid?>(
            "SELECT id FROM tracking.campaigns WHERE workspace_id = @workspace AND external_key = @reference", new { workspace, reference });
}
