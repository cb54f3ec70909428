using System.Globalization;
using System.Text.Json;
using Funnels.Contracts;
using Funnels.Runtime.Funnels;

namespace Funnels.Runtime.Events;

/// <summary>A public funnel event, as the existing funnel frontends post it.</summary>
public sealed record EventRequest(
    string PublicationSlug,
    string EventType,
    string PageId,
    JsonElement FormData,
    string? VisitorId,
    Money? Amount,
    DateTimeOffset? FormStartedAt,
    string RawBody);

/// <summary>
/// Reads the body by hand rather than through model binding, so every problem gets a clear
/// message naming the field (binding would answer one generic error), and so the size limit
/// holds however the body is sent.
/// </summary>
public static class EventRequestReader
{
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static async Task<(EventRequest? Request, IResult? Problem)> ReadAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (http.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge());
        }
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await http.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                return (null, TooLarge());
            }
        }

        // JsonDocument checks UTF-8 only in the strings it is asked to read: check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
        {
            return (null, Invalid(new() { ["body"] = ["is not valid UTF-8"] }));
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            return (null, Invalid(new() { ["body"] = [$"is not valid JSON ({ex.Message})"] }));
        }
        catch (ArgumentException)
        {
            return (null, Invalid(new() { ["body"] = ["is not valid UTF-8 JSON"] }));
        }

        using (document)
        {
            return Parse(document.RootElement.Clone(), System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        }
    }

    private static (EventRequest?, IResult?) Parse(JsonElement root, string raw)
    {
        var errors = new Dictionary<string, string[]>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, Invalid(new() { ["body"] = ["must be a JSON object"] }));
        }
        var slug = Text(root, "publication_slug", errors, required: true, maxLength: 63);
        var eventType = Text(root, "event_type", errors, required: true, maxLength: 32);
        if (eventType is not null && !FunnelEventTypes.All.Contains(eventType))
        {
            errors["event_type"] = [$"must be one of {string.Join(", ", FunnelEventTypes.All)}"];
        }

        var payload = root.TryGetProperty("payload", out var p) ? p : default;
        if (payload.ValueKind != JsonValueKind.Object)
        {
            errors["payload"] = ["is required: an object with page_id and form_data"];
            return (null, Invalid(errors));
        }
        var pageId = Text(payload, "page_id", errors, required: true, maxLength: 64, prefix: "payload.");
        var visitorId = Text(payload, "visitor_id", errors, required: false, maxLength: 128, prefix: "payload.");
        var formData = payload.TryGetProperty("form_data", out var f) ? f : default;
        if (formData.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            errors["payload.form_data"] = ["must be an object of field names to values"];
        }

        Money? amount = null;
        if (eventType == FunnelEventTypes.Purchase)
        {
            amount = ReadMoney(payload, errors);
        }

        DateTimeOffset? startedAt = null;
        if (payload.TryGetProperty("form_started_at", out var started) && started.ValueKind != JsonValueKind.Null)
        {
            if (started.ValueKind == JsonValueKind.Number && started.TryGetInt64(out var ms) && ms > 0 && ms <= MaxUnixMilliseconds)
            {
                startedAt = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }
            else
            {
                errors["payload.form_started_at"] = ["must be milliseconds since 1970 (Date.now())"];
            }
        }

        if (errors.Count > 0)
        {
            return (null, Invalid(errors));
        }
        var data = formData.ValueKind == JsonValueKind.Object ? formData : JsonDocument.Parse("{}").RootElement;
        return (new EventRequest(slug!, eventType!, pageId!, data, visitorId, amount, startedAt, raw), null);
    }

    private static Money? ReadMoney(JsonElement payload, Dictionary<string, string[]> errors)
    {
        decimal? value = null;
        if (payload.TryGetProperty("amount", out var amount))
        {
            if (amount.ValueKind == JsonValueKind.Number && amount.TryGetDecimal(out var d)) value = d;
            else if (amount.ValueKind == JsonValueKind.String && decimal.TryParse(amount.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out var s)) value = s;
        }
        if (value is null or < 0)
        {
            errors["payload.amount"] = ["is required for PURCHASE: a non-negative decimal such as 150000.0"];
        }
        var currency = payload.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (currency is not { Length: 3 } || !currency.All(char.IsAsciiLetter))
        {
            errors["payload.currency"] = ["is required for PURCHASE: an ISO 4217 code such as COP"];
            return null;
        }
        return value is { } v and >= 0 ? new Money(v, currency) : null;
    }

    private static string? Text(JsonElement parent, string name, Dictionary<string, string[]> errors, bool required, int maxLength, string prefix = "")
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) errors[prefix + name] = ["is required"];
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors[prefix + name] = ["must be a string"];
            return null;
        }
        var text = value.GetString()!.Trim();
        if (required && text.Length == 0)
        {
            errors[prefix + name] = ["must not be empty"];
            return null;
        }
        if (text.Length > maxLength)
        {
            errors[prefix + name] = [$"must be at most {maxLength} characters"];
            return null;
        }
        return text.Length == 0 ? null : text;
    }

    public static IResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The event is not valid");

    private static IResult TooLarge() => TypedResults.Problem(
        $"The body must be at most {MaxBodyBytes / 1024} KiB.", title: "Payload too large", statusCode: StatusCodes.Status413PayloadTooLarge);
}
