using System.Text.Json;

namespace Funnels.Messaging.WhatsApp;

/// <summary>An inbound user message from a Cloud API delivery, flattened.</summary>
/// <param name="Text">What the user typed or the title of what they tapped.</param>
/// <param name="Payload">The id/payload behind a tapped button or list row, if any.</param>
public sealed record InboundMessage(
    string PhoneNumberId, string WaId, string? Phone, string? ContactName, string Wamid, string Kind,
    string? Text, string? Payload, DateTimeOffset? SentAt, string Raw)
{
    /// <summary>What trigger phrases are matched against: the button payload first, then the text.</summary>
    public IEnumerable<string> MatchCandidates() => new[] { Payload, Text }.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct()!;
}

/// <summary>A delivery status Meta reports for a message we sent.</summary>
public sealed record MessageStatus(string PhoneNumberId, string Wamid, string Status, string? RecipientId, DateTimeOffset? ReportedAt, string? Errors);

/// <summary>
/// Reads Meta's webhook payload (object whatsapp_business_account, entry[].changes[].value with
/// metadata, contacts, messages or statuses). Batched entries, changes and messages are all
/// read; anything unrecognised is skipped rather than failing the whole delivery.
/// </summary>
public static class CloudApiPayload
{
    public static (IReadOnlyList<InboundMessage> Messages, IReadOnlyList<MessageStatus> Statuses) Parse(string json)
    {
        var messages = new List<InboundMessage>();
        var statuses = new List<MessageStatus>();
        using var document = JsonDocument.Parse(json);
        foreach (var value in Values(document.RootElement))
        {
            if (!value.TryGetProperty("metadata", out var metadata) || Str(metadata, "phone_number_id") is not { } phoneNumberId)
            {
                continue;
            }
            var names = new Dictionary<string, string?>();
            foreach (var contact in Array(value, "contacts"))
            {
                if (Str(contact, "wa_id") is { } waId)
                {
                    names[waId] = contact.TryGetProperty("profile", out var profile) ? Str(profile, "name") : null;
                }
            }
            foreach (var message in Array(value, "messages"))
            {
                if (Str(message, "from") is not { } from || Str(message, "id") is not { } wamid)
                {
                    continue;
                }
                var type = Str(message, "type") ?? "unknown";
                var (kind, text, payload) = Content(message, type);
                messages.Add(new InboundMessage(phoneNumberId, from, "+" + from, names.GetValueOrDefault(from), wamid, kind, text, payload,
                    Timestamp(message), message.GetRawText()));
            }
            foreach (var status in Array(value, "statuses"))
            {
                if (Str(status, "id") is { } wamid && Str(status, "status") is { } state)
                {
                    statuses.Add(new MessageStatus(phoneNumberId, wamid, state, Str(status, "recipient_id"), Timestamp(status),
                        status.TryGetProperty("errors", out var errors) ? errors.GetRawText() : null));
                }
            }
        }
        return (messages, statuses);
    }

    private static (string Kind, string? Text, string? Payload) Content(JsonElement message, string type)
    {
        switch (type)
        {
            case "text":
                return ("text", message.TryGetProperty("text", out var t) ? Str(t, "body") : null, null);
            case "button":
                // A template's quick-reply button.
                return message.TryGetProperty("button", out var b) ? ("button", Str(b, "text"), Str(b, "payload")) : ("button", null, null);
            // An interactive that is no object is skipped like any unknown content (it threw, dead-lettering the delivery: MetaFuzzTests).
            case "interactive" when message.TryGetProperty("interactive", out var i) && i.ValueKind == JsonValueKind.Object:
                if (i.TryGetProperty("button_reply", out var reply)) return ("button_reply", Str(reply, "title"), Str(reply, "id"));
                if (i.TryGetProperty("list_reply", out var row)) return ("list_reply", Str(row, "title"), Str(row, "id"));
                return ("interactive", null, null);
            default:
                // Media, location, contacts, reactions...: recorded, not matched against triggers (a caption is text, though).
                var caption = message.TryGetProperty(type, out var media) && media.ValueKind == JsonValueKind.Object ? Str(media, "caption") : null;
                return (type, caption, null);
        }
    }

    private static IEnumerable<JsonElement> Values(JsonElement root)
    {
        foreach (var entry in Array(root, "entry"))
        {
            foreach (var change in Array(entry, "changes"))
            {
                if (change.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Object)
                {
                    yield return value;
                }
            }
        }
    }

    private static IEnumerable<JsonElement> Array(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object)
            : [];

    private static string? Str(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // A timestamp no DateTimeOffset can hold is no timestamp (it threw, dead-lettering the whole delivery: MetaFuzzTests).
    private static DateTimeOffset? Timestamp(JsonElement element) =>
        Str(element, "timestamp") is { } s && long.TryParse(s, out var seconds)
            && seconds >= DateTimeOffset.MinValue.ToUnixTimeSeconds() && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
}
