using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;

namespace Funnels.ServiceDefaults.Contacts;

/// <summary>
/// The visitor ids t.js makes: a UUIDv7 (48 bits of milliseconds, version 7, the RFC 9562
/// variant, random bits) written as 36 lower-case hex characters with dashes,
/// e.g. <c>0192f3a4-5b6c-7d8e-9f01-23456789abcd</c>. Anything else (empty, whitespace, "null",
/// "undefined", "NaN", "[object Object]", a CRM's "{{contact.fid_vid}}" left unfilled, any
/// other text) is not a visitor id: every endpoint that takes one treats it as absent, links
/// nothing with it, and counts it (funnels.visitor_ids.absent, by endpoint and reason).
/// </summary>
public static partial class VisitorIds
{
    public const string MeterName = "Funnels.Contacts";
    public const string Format = "a t.js visitor id: a UUIDv7 in lower-case hex with dashes (0192f3a4-5b6c-7d8e-9f01-23456789abcd)";

    public const string Placeholder = "placeholder";
    public const string Malformed = "malformed";

    // Static: the parsers that read visitor ids are static, and a meter named Funnels.* is exported by ServiceDefaults' telemetry.
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Absent = Meter.CreateCounter<long>("funnels.visitor_ids.absent",
        description: "Visitor ids sent but treated as absent, by endpoint and reason (placeholder, malformed)");

    private static readonly HashSet<string> Placeholders = new(StringComparer.OrdinalIgnoreCase)
    {
        "null", "undefined", "nan", "[object object]", "none", "nil", "false", "true", "0", "-",
    };

    /// <summary>The visitor id in t.js's format (lower-cased), or null; <paramref name="reason"/> says why not (null: nothing was sent).</summary>
    public static string? Parse(string? text, out string? reason)
    {
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            reason = text is null ? null : Placeholder;
            return null;
        }
        if (Placeholders.Contains(trimmed) || (trimmed.StartsWith("{{") && trimmed.EndsWith("}}")))
        {
            reason = Placeholder;
            return null;
        }
        if (!Uuid7().IsMatch(trimmed))
        {
            reason = Malformed;
            return null;
        }
        reason = null;
        return trimmed.ToLowerInvariant();
    }

    /// <summary>The visitor id, or null; a value sent but not a visitor id is counted for <paramref name="endpoint"/>.</summary>
    public static string? Read(string? text, string endpoint)
    {
        var id = Parse(text, out var reason);
        if (reason is not null)
        {
            Count(endpoint, reason);
        }
        return id;
    }

    public static bool IsValid(string? text) => Parse(text, out _) is not null;

    /// <summary>Whether the text stands for "nothing" ("null", "undefined", "{{contact.id}}" ...): also no contact id.</summary>
    public static bool IsPlaceholder(string? text) =>
        text?.Trim() is not { Length: > 0 } trimmed || Placeholders.Contains(trimmed) || (trimmed.StartsWith("{{") && trimmed.EndsWith("}}"));

    public static void Count(string endpoint, string reason) =>
        Absent.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("reason", reason));

    [GeneratedRegex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")]
    private static partial Regex Uuid7();
}
