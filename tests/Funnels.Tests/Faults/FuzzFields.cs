using System.Text.Json.Nodes;

namespace Funnels.Tests.Faults;

/// <summary>
/// A field of an endpoint's body and the values that endpoint must refuse for it. Only refusable
/// values are offered (a missing optional field is fine, a number is a valid client id), so a
/// body with one of them applied must be answered 4xx.
/// </summary>
public sealed class Field
{
    private readonly string _path;
    private readonly Func<Random, (JsonNode? Value, bool Remove, string What)>[] _breaks;

    private Field(string path, IEnumerable<Func<Random, (JsonNode?, bool, string)>> breaks)
    {
        _path = path;
        _breaks = breaks.ToArray();
    }

    /// <summary>Applies one refusable value; false when the field's parent is gone (an earlier mutation removed it).</summary>
    public bool Break(Random random, JsonObject body, List<string> mutations)
    {
        var segments = _path.Split('.');
        JsonNode? parent = body;
        foreach (var segment in segments[..^1])
        {
            parent = parent switch
            {
                JsonObject o => o[segment],
                JsonArray a when int.TryParse(segment, out var i) && i < a.Count => a[i],
                _ => null,
            };
        }
        var last = segments[^1];
        if (parent is not (JsonObject or JsonArray))
        {
            return false;
        }
        var (value, remove, what) = _breaks[random.Next(_breaks.Length)](random);
        switch (parent)
        {
            case JsonObject o when remove: o.Remove(last); break;
            case JsonObject o: o[last] = value; break;
            case JsonArray a when int.TryParse(last, out var i) && i < a.Count: a[i] = value; break;
            default: return false;
        }
        // An unknown value (a slug, page or id nobody has) is not found; anything else is invalid, named by its path.
        if (mutations is Mutations expected) expected.Add($"{_path} {what}", what == "unknown" ? 404 : 400, what == "unknown" ? null : _path);
        else mutations.Add($"{_path} {what}");
        return true;
    }

    private static (JsonNode?, bool, string) Set(JsonNode? value, string what) => (value, false, what);

    private static Func<Random, (JsonNode?, bool, string)> Fixed(JsonNode? value, string what) => _ => Set(value?.DeepClone(), what);

    private static IEnumerable<Func<Random, (JsonNode?, bool, string)>> Missing(bool required) => required
        ? [_ => (null, true, "missing"), Fixed(null, "null")]
        : [];

    private static IEnumerable<Func<Random, (JsonNode?, bool, string)>> WrongTypes(bool numbers = true, bool booleans = true) =>
    [
        .. numbers ? new Func<Random, (JsonNode?, bool, string)>[] { r => Set(r.Next(2) == 0 ? 42 : JsonNode.Parse("-1.5e300"), "a number") } : [],
        .. booleans ? new Func<Random, (JsonNode?, bool, string)>[] { r => Set(r.Next(2) == 0, "a boolean") } : [],
        r => Set(new JsonArray(JsonValue.Create("x"), JsonValue.Create(r.Next())), "an array"),
        r => Set(new JsonObject { ["nested"] = FuzzBodies.RandomValue(r, 1) }, "an object"),
    ];

    private static Func<Random, (JsonNode?, bool, string)> TooLong(int max) => r =>
    {
        var length = r.Next(5) == 0 ? r.Next(5_000, 60_000) : max + r.Next(1, 200);
        return Set(new string('x', length), $"{length} characters");
    };

    private static Func<Random, (JsonNode?, bool, string)> Blank() => r => Set(r.Next(2) == 0 ? "" : "   ", "blank");

    public static Field Text(string path, int maxLength, bool required, string[]? invalid = null, Func<string>? unknown = null) => new(path,
    [
        .. Missing(required), .. WrongTypes(), TooLong(maxLength),
        .. required ? [Blank()] : Array.Empty<Func<Random, (JsonNode?, bool, string)>>(),
        .. (invalid ?? []).Select(v => Fixed(v, $"'{v}'")),
        .. unknown is null ? [] : new Func<Random, (JsonNode?, bool, string)>[] { _ => Set(unknown(), "unknown") },
    ]);

    /// <summary>A closed set of values: the given refusable ones, wrong types, and (when required) missing.</summary>
    public static Field Enum(string path, bool required, params string[] invalid) => new(path,
        [.. Missing(required), .. WrongTypes(), .. invalid.Select(v => Fixed(v, $"'{v}'"))]);

    public static Field Object(string path, bool required) => new(path,
    [
        .. Missing(required),
        r => Set(r.Next(2) == 0 ? 7 : "text", "not an object"),
        r => Set(new JsonArray(JsonValue.Create(r.Next())), "an array"),
        _ => Set(true, "a boolean"),
    ]);

    public static Field Guid(string path, bool required, bool unknownBreaks = false) => new(path,
    [
        .. Missing(required), .. WrongTypes(),
        r => Set("not-a-uuid-" + r.Next(), "not a uuid"),
        r => Set(FuzzBodies.RandomGuid(r).ToString()[..r.Next(1, 35)], "a cut uuid"),
        .. required ? [Blank()] : Array.Empty<Func<Random, (JsonNode?, bool, string)>>(),
        .. unknownBreaks ? new Func<Random, (JsonNode?, bool, string)>[] { r => Set(FuzzBodies.RandomGuid(r).ToString(), "unknown") } : [],
    ]);

    /// <summary>A client's id: numbers are fine (their digits are the id), other types, odd characters and length are not.</summary>
    public static Field Id(string path, bool required, bool emptyIsAbsent = false, bool numbersBreak = false) => new(path,
    [
        .. Missing(required), .. WrongTypes(numbers: numbersBreak),
        r => Set(new[] { "has space", "ünïcode", "slash/ed", "emoji😀", "semi;colon", "new\nline" }[r.Next(6)], "odd characters"),
        TooLong(128),
        _ => Set(JsonNode.Parse(new string('7', 200)), "a 200-digit number"),
        .. required && !emptyIsAbsent ? [Blank()] : Array.Empty<Func<Random, (JsonNode?, bool, string)>>(),
    ]);

    /// <summary>A positive integer id (HubSpot's objectId): other types, fractions, zero, negatives and text are refused.</summary>
    public static Field PositiveInteger(string path) => new(path,
    [
        .. Missing(required: true), .. WrongTypes(numbers: false),
        r => Set(-r.Next(0, 1000), "zero or negative"),
        _ => Set(1.5, "a fraction"),
        r => Set("x" + r.Next(), "text"),
        _ => Set(JsonNode.Parse("1e400"), "1e400"),
    ]);

    /// <summary>A string that must be there: missing, null and other types are refused (any text is a value).</summary>
    public static Field RequiredString(string path) => new(path, [.. Missing(required: true), .. WrongTypes()]);

    public static Field Decimal(string path) => new(path,
    [
        .. Missing(required: true), .. WrongTypes(numbers: false),
        r => Set(new[] { "abc", "1e5", "12,5.3.1", "--1", "NaN", "Infinity" }[r.Next(6)], "not a decimal"),
        _ => Set(JsonNode.Parse("1e400"), "1e400"),
        r => Set(-(r.Next(1, 1000) / 100m), "negative"),
    ]);

    public static Field Timestamp(string path) => new(path,
    [
        .. WrongTypes(numbers: false),
        r => Set(new[] { "not a date", "2025-13-45", "yesterday", "1700000000000ms" }[r.Next(4)], "not a date"),
        r => Set(JsonNode.Parse(new[] { "0", "-5", "1.5", "1e300", "9223372036854775807", "253402300800000", "-9223372036854775808" }[r.Next(7)]), "out of range"),
    ]);

    /// <summary>Our name of an aliased field, set beside the alias the body uses, to another value: refused naming both.</summary>
    public static Field Conflicting(string path, Func<Random, JsonNode> other) => new(path, [r => Set(other(r), "beside its alias, different")]);

    /// <summary>A required checkbox that must be checked.</summary>
    public static Field Checked(string path) => new(path,
    [
        .. Missing(required: true),
        r => Set(new JsonNode?[] { false, "no", "maybe", 1, new JsonArray() }[r.Next(5)]?.DeepClone(), "not checked"),
    ]);

    /// <summary>A form value that is not plain (an object or a list).</summary>
    public static Field Nested(string path) => new(path,
        [r => Set(r.Next(2) == 0 ? new JsonObject { ["y"] = 1 } : new JsonArray(1, 2), "not a plain value")]);

    public static Field EventList(string path, int max) => new(path,
    [
        .. Missing(required: true),
        _ => Set(new JsonArray(), "empty"),
        _ => Set(new JsonArray(Enumerable.Range(0, max + 1).Select(i => (JsonNode?)new JsonObject { ["type"] = "page_view", ["url"] = "https://x.example/" + i }).ToArray()), $"{max + 1} events"),
        r => Set(new JsonArray(JsonValue.Create(r.Next()), JsonValue.Create("x")), "of non-objects"),
        r => Set(r.Next(2) == 0 ? new JsonObject() : "events", "not a list"),
    ]);
}
