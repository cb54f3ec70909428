using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace Funnels.Messaging.Triggers;

/// <summary>
/// How trigger phrases, intent keywords and what users send are compared: Unicode
/// compatibility-normalised (NFKC, so a full-width "ＳＴＡＲＴ" or a decomposed "é" equals the
/// plain one), surrounding whitespace trimmed, inner runs of whitespace collapsed to one space,
/// and case folded. The services run with invariant globalization, where .NET's
/// string.Normalize leaves non-ASCII text alone, so NFKC is PostgreSQL's normalize() (the
/// database is UTF8); the rest is done here.
/// </summary>
public static partial class Phrases
{
    public static async Task<string[]> NormalizeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IEnumerable<string> texts)
    {
        var items = texts.ToArray();
        if (items.Length == 0) return [];
        var nfkc = await connection.QueryAsync<string>(
            "SELECT normalize(t, NFKC) FROM unnest(@items::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n", new { items }, transaction);
        return nfkc.Select(Fold).ToArray();
    }

    /// <summary>Trim, collapse whitespace and fold case (after NFKC).</summary>
    public static string Fold(string text) =>
        Whitespace().Replace(text.Normalize(NormalizationForm.FormKC).Trim(), " ").ToLowerInvariant();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
