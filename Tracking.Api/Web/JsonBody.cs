using System.Globalization;
using System.Text.Json;
using Funnels.ServiceDefaults.Contacts;

namespace Funnels.Tracking.Web;

/// <summary>
/// Public bodies are read by hand rather than bound, so a size limit holds however the body is
/// sent (beacons post text/plain) and every problem names its field by JSON path.
/// </summary>
public static class JsonBody
{
    public static async Task<(JsonElement Root, byte[] Raw, IResult? Problem)> ReadAsync(HttpRequest http, int maxBytes, CancellationToken cancellationToken)
    {
        if (http.ContentLength > maxBytes)
        {
            return (default, [], TooLarge(maxBytes));
        }
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await http.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return (default, [], TooLarge(maxBytes));
            }
        }
        var raw = buffer.ToArray();
        // JsonDocument checks UTF-8 only in the strings it is asked to read: check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(raw))
        {
            return (default, raw, Invalid(new() { ["body"] = ["is not valid UTF-8"] }));
        }
        try
        {
            using var document = JsonDocument.Parse(raw, new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
            {
                return (default, raw, Invalid(new() { ["body"] = ["must be a JSON object"] }));
            }
            return (document.RootElement.Clone(), raw, null);
        }
        catch (JsonException ex)
        {
            return (default, raw, Invalid(new() { ["body"] = [$"is not valid JSON ({ex.Message})"] }));
        }
        catch (ArgumentException)
        {
            return (default, raw, Invalid(new() { ["body"] = ["is not valid UTF-8 JSON"] }));
        }
    }

    public static IResult Invalid(Dictionary<string, string[]> errors) => TypedResults.ValidationProblem(errors, title: "The request is not valid");

    public static IResult TooLarge(int maxBytes) => TypedResults.Problem(
        $"The body must be at most {maxBytes / 1024} KiB.", title: "Payload too large", statusCode: StatusCodes.Status413PayloadTooLarge);
}

/// <summary>
/// Reads fields of a JSON object, collecting errors keyed by their JSON path. With aliases (our
/// name to the other names a client may send instead), a field is read under whichever name the
/// body gives, and its errors are keyed by that name.
/// </summary>
public sealed class FieldReader(JsonElement element, string prefix, Dictionary<string, string[]> errors, IReadOnlyDictionary<string, string[]>? aliases = null)
{
    public Dictionary<string, string[]> Errors => errors;

    public bool Has(string name) => Raw(name).ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

    public JsonElement Raw(string name) => Given(NameOf(name));

    /// <summary>The name the body gives the field under (ours when it gives none, or when it gives ours).</summary>
    public string NameOf(string name)
    {
        if (aliases is null || !aliases.TryGetValue(name, out var others) || Present(name)) return name;
        return others.FirstOrDefault(Present) ?? name;
    }

    public void Fail(string name, string message)
    {
        // An aliased field's conflict (CheckAliases) is the first thing to fix: later checks don't hide it.
        if (aliases is not null && errors.ContainsKey(prefix + NameOf(name))) return;
        errors[prefix + NameOf(name)] = [message];
    }

    /// <summary>A field given under two of its names with different values: which one was meant is unknown, so both are named.</summary>
    public void CheckAliases()
    {
        foreach (var (name, others) in aliases ?? new Dictionary<string, string[]>())
        {
            var given = new[] { name }.Concat(others).Where(Present).ToList();
            if (given.Count < 2 || given.Skip(1).All(n => JsonElement.DeepEquals(Given(n), Given(given[0])))) continue;
            foreach (var n in given)
            {
                errors[prefix + n] = [$"conflicts with {string.Join(" and ", given.Where(o => o != n))}: they name the same field ({name}); give one of them, or the same value"];
            }
        }
    }

    private JsonElement Given(string name) => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) ? v : default;

    private bool Present(string name) => Given(name).ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

    public string? Text(string name, bool required = false, int maxLength = 256)
    {
        var value = Raw(name);
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (required) Fail(name, "is required");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(name, "must be a string");
            return null;
        }
        var text = value.GetString()!.Trim();
        if (text.Length == 0)
        {
            if (required) Fail(name, "must not be empty");
            return null;
        }
        if (text.Length > maxLength)
        {
            Fail(name, $"must be at most {maxLength} characters");
            return null;
        }
        return text;
    }

    /// <summary>An id chosen by a client: 1-128 letters, digits, '-', '_', '.' or ':'.</summary>
    public string? Id(string name, bool required = false)
    {
        var value = Raw(name);
        if (value.ValueKind == JsonValueKind.Number)
        {
            // A number's digits are the id, held to the same rule as a string id.
            var digits = value.GetRawText();
            if (Ids.IsValid(digits)) return digits;
            Fail(name, Ids.Rule);
            return null;
        }
        var text = Text(name, required, 128);
        if (text is not null && !Ids.IsValid(text))
        {
            Fail(name, Ids.Rule);
            return null;
        }
        return text;
    }

    /// <summary>
    /// A visitor id in t.js's format (VisitorIds). A placeholder ("null", "undefined", "", ...) or any
    /// other text is no visitor id: counted for <paramref name="endpoint"/>, and an error when one is required.
    /// </summary>
    public string? VisitorId(string name, string endpoint, bool required = false)
    {
        var value = Raw(name);
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (required) Fail(name, "is required: " + VisitorIds.Format);
            return null;
        }
        var id = value.ValueKind == JsonValueKind.String ? VisitorIds.Read(value.GetString(), endpoint) : null;
        if (value.ValueKind != JsonValueKind.String)
        {
            VisitorIds.Count(endpoint, VisitorIds.Malformed);
        }
        if (id is null && required)
        {
            Fail(name, $"is not a visitor id (placeholders such as \"null\" or \"undefined\" count as none): it must be {VisitorIds.Format}");
        }
        return id;
    }

    public Guid? Guid(string name, bool required = false)
    {
        var text = Text(name, required, 64);
        if (text is null) return null;
        if (System.Guid.TryParse(text, out var id)) return id;
        Fail(name, "must be a UUID");
        return null;
    }

    public decimal? Decimal(string name, bool required = false)
    {
        var value = Raw(name);
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (required) Fail(name, "is required");
            return null;
        }
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d)) return d;
        if (value.ValueKind == JsonValueKind.String && decimal.TryParse(value.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out var s)) return s;
        Fail(name, "must be a decimal number such as 150000.0");
        return null;
    }

    public string? Currency(string name, bool required = false)
    {
        var text = Text(name, required, 3);
        if (text is not null && (text.Length != 3 || !text.All(char.IsAsciiLetter)))
        {
            Fail(name, "must be an ISO 4217 currency code such as COP");
            return null;
        }
        return text?.ToUpperInvariant();
    }

    /// <summary>Milliseconds since 1970 (Date.now()) or an ISO 8601 date-time; null when absent.</summary>
    public DateTime? Timestamp(string name)
    {
        var value = Raw(name);
        switch (value.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.Number when value.TryGetInt64(out var ms) && ms > 0 && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds():
                return DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
            case JsonValueKind.String when DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at):
                return at.UtcDateTime;
            default:
                Fail(name, "must be milliseconds since 1970 or an ISO 8601 date-time");
                return null;
        }
    }
}

public static class Ids
{
    public const string Rule = "must be 1-128 letters, digits, '-', '_', '.' or ':'";

    public static bool IsValid(string id) =>
        id.Length is >= 1 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
