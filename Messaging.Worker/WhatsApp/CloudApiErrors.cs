using System.Text.Json;

namespace Funnels.Messaging.WhatsApp;

/// <summary>One error of Meta's webhook errors[] objects: <c>{"code", "title", "message", "error_data": {"details"}, "href"}</c>.</summary>
public sealed record CloudApiError(int? Code, string? Title, string? Message, string? Details)
{
    /// <summary>What the run and channel pages show: "131026 Message undeliverable: details".</summary>
    public string Describe() => $"{Code?.ToString() ?? "?"} {Title ?? Message ?? "error"}{(Details is { } d ? ": " + d : "")}";

    public static CloudApiError From(JsonElement error) => new(
        error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var c) ? c : null,
        Str(error, "title"), Str(error, "message"),
        error.TryGetProperty("error_data", out var data) && data.ValueKind == JsonValueKind.Object ? Str(data, "details") : null);

    /// <summary>The errors of a status's (or a value's) errors[] array given as raw JSON; empty when there are none.</summary>
    public static IReadOnlyList<CloudApiError> ListOf(string? errorsJson)
    {
        if (string.IsNullOrEmpty(errorsJson)) return [];
        using var document = JsonDocument.Parse(errorsJson);
        return document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).Select(From).ToList()
            : [];
    }

    internal static string? Str(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>An asynchronous error notification: a webhook value carrying errors[] (and no messages or statuses) for a channel.</summary>
public sealed record ErrorNotification(string PhoneNumberId, int Position, CloudApiError Error, string Raw);

/// <summary>
/// Reads the error notifications of Meta's delivery (entry[].changes[].value.errors[], Meta's
/// "Errors messages webhooks reference"): system-, app- or account-level problems such as 130429
/// that belong to no message. Beside <see cref="CloudApiPayload"/>, which reads messages and statuses.
/// </summary>
public static class CloudApiErrors
{
    public static IReadOnlyList<ErrorNotification> Parse(string json)
    {
        var found = new List<ErrorNotification>();
        using var document = JsonDocument.Parse(json);
        var position = 0;
        foreach (var entry in Array(document.RootElement, "entry"))
        {
            foreach (var change in Array(entry, "changes"))
            {
                if (!change.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Object) continue;
                if (!value.TryGetProperty("metadata", out var metadata) || CloudApiError.Str(metadata, "phone_number_id") is not { } phoneNumberId) continue;
                foreach (var error in Array(value, "errors"))
                {
                    found.Add(new ErrorNotification(phoneNumberId, position++, CloudApiError.From(error), error.GetRawText()));
                }
            }
        }
        return found;
    }

    private static IEnumerable<JsonElement> Array(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object)
            : [];
}
