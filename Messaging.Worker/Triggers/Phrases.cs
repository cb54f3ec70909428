using System.Text;
using System.Text.RegularExpressions;

namespace Funnels.Messaging.Triggers;

/// <summary>
/// How trigger phrases and what users send are compared: Unicode compatibility-normalised (NFKC,
/// so a full-width or composed "Ｓｔａｒｔ" equals "Start"), surrounding whitespace trimmed,
/// inner runs of whitespace collapsed to one space, and case folded.
/// </summary>
public static partial class Phrases
{
    public static string Normalize(string text)
    {
        var normalized = text.Normalize(NormalizationForm.FormKC);
        return Whitespace().Replace(normalized.Trim(), " ").ToLowerInvariant();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
