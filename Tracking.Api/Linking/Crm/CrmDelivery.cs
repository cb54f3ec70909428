using System.Text.Json;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// A contact as one CRM delivery describes it. <c>Visitor</c> is the text found where the workspace
/// said the visitor id is (null: the field was not there); VisitorIds decides whether it is one.
/// </summary>
public sealed record CrmContact(string ContactId, string? Email, string? Phone, string? Visitor, IReadOnlyList<string>? Tags = null);

/// <summary>What an adapter read from a delivery: its contacts, and how many events it ignored (another object, a deletion).</summary>
public sealed record CrmDelivery(IReadOnlyList<CrmContact> Contacts, int Ignored, string? IgnoredWhy = null)
{
    public static CrmDelivery Ignore(string why) => new([], 1, why);
}

/// <summary>An adapter's answer: the delivery, or the 400's errors (keyed by JSON path, or "body" for a shape it does not know).</summary>
public sealed record CrmParse(CrmDelivery? Delivery, Dictionary<string, string[]>? Errors)
{
    public static CrmParse Of(CrmDelivery delivery) => new(delivery, null);

    public static CrmParse Invalid(Dictionary<string, string[]> errors) => new(null, errors);

    /// <summary>A body this adapter does not read: says which adapter expected what, and which adapter the body looks like.</summary>
    public static CrmParse Unsupported(string adapter, string expected, JsonElement root) =>
        new(null, new() { ["body"] = [$"is not a {CrmAdapters.Title(adapter)} delivery: the {adapter} adapter expects {expected}.{CrmAdapters.LooksLike(adapter, root)}"] });
}

/// <summary>Values as CRMs send them: strings, numbers, sometimes an object holding the value.</summary>
public static class CrmValues
{
    /// <summary>A string (trimmed, null when blank) or a number's digits; other kinds as their JSON, so they fail the format they are checked against.</summary>
    public static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!.Trim() is { Length: > 0 } text ? text : "",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        _ => value.GetRawText(),
    };

    public static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    /// <summary>The property by its exact name, else by a case-insensitive match (a CRM label typed with other capitals).</summary>
    public static JsonElement Labelled(JsonElement element, string label)
    {
        if (element.ValueKind != JsonValueKind.Object) return default;
        if (element.TryGetProperty(label, out var exact)) return exact;
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name.Trim(), label.Trim(), StringComparison.OrdinalIgnoreCase)) return property.Value;
        }
        return default;
    }

    /// <summary>Tags as GoHighLevel sends them: "a, b" or ["a", "b"].</summary>
    public static IReadOnlyList<string>? Tags(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Take(100).ToList(),
        JsonValueKind.Array => value.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String)
            .Select(t => t.GetString()!.Trim()).Where(t => t.Length > 0).Take(100).ToList(),
        _ => null,
    };
}
