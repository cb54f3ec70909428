using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// Impressions, conversions and refunds move money (commissions, payouts), so attribution clients
/// authenticate with their workspace's attribution key in <c>X-Funnels-Attribution-Key</c>; the
/// JSON they post is unchanged. Only the key's SHA-256 is stored, so the hash finds the workspace.
/// A workspace that turned attribution_key_required off also accepts requests without a key; a key
/// that is sent is always checked.
/// </summary>
public static class AttributionKeys
{
    public const string Header = "X-Funnels-Attribution-Key";

    public static string NewKey() => "atk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool Sent(HttpRequest request) => request.Headers[Header].ToString().Length > 0;

    /// <summary>
    /// Null when the request may act on <paramref name="workspace"/> (null: a campaign or workspace
    /// nobody knows, which only a valid key gets to hear about), else the 401 or 403 to answer.
    /// </summary>
    public static async Task<IResult?> AuthorizeAsync(HttpRequest request, NpgsqlConnection connection, Guid? workspace)
    {
        var key = request.Headers[Header].ToString();
        if (key.Length > 0)
        {
            var owner = await OwnerAsync(connection, key);
            if (owner is null)
            {
                return Unauthorized("This attribution key is not valid (it may have been rotated): copy the current one from the workspace's tracking settings.");
            }
            return workspace is { } w && w != owner
                ? TypedResults.Problem("This attribution key belongs to another workspace.", title: "Forbidden", statusCode: StatusCodes.Status403Forbidden)
                : null;
        }
        if (workspace is { } known && !(await WorkspaceSettings.LoadAsync(connection, known)).AttributionKeyRequired)
        {
            return null;
        }
        return Unauthorized($"Send the workspace's attribution key in the {Header} header (tracking settings, POST /api/tracking/settings/attribution-key).");
    }

    /// <summary>The workspace a key belongs to, or null.</summary>
    public static Task<Guid?> OwnerAsync(NpgsqlConnection connection, string key) => connection.QuerySingleOrDefaultAsync<Guid?>(
        "SELECT workspace_id FROM tracking.workspace_settings WHERE attribution_key_hash = @hash", new { hash = HashOf(key) });

    public static IResult Unauthorized(string detail) =>
        TypedResults.Problem(detail, title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
}
