using System.Text.Json;
using System.Text.Json.Serialization;

namespace Funnels.Runtime.Funnels;

/// <summary>
/// What an admin designs: pages, the form fields of a page, and transitions between pages.
/// Stored as JSON (snake_case) on the funnel, and frozen into each publication.
/// </summary>
public sealed record FunnelSchema
{
    /// <summary>Where a new lead starts when its first event names no page; defaults to the first page.</summary>
    public string? StartPageId { get; init; }
    public IReadOnlyList<FunnelPage> Pages { get; init; } = [];
    public IReadOnlyList<FunnelTransition> Transitions { get; init; } = [];

    /// <summary>A form field that people never see; a bot fills it, and its submission is dropped.</summary>
    public string? HoneypotField { get; init; }

    /// <summary>Submissions faster than this after the page was shown (payload.form_started_at) are dropped as bots.</summary>
    public int MinFillSeconds { get; init; }

    [JsonIgnore]
    public string EntryPageId => StartPageId ?? Pages.FirstOrDefault()?.Id ?? "";

    public FunnelPage? Page(string id) => Pages.FirstOrDefault(p => p.Id == id);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };
}

public sealed record FunnelPage
{
    public string Id { get; init; } = "";
    public PageKind Kind { get; init; }
    public string? Title { get; init; }
    public IReadOnlyList<FormField> Fields { get; init; } = [];
}

public enum PageKind { Landing, Form, Offer, ThankYou }

public sealed record FormField
{
    public string Name { get; init; } = "";
    public FieldType Type { get; init; }
    public bool Required { get; init; }
    public int? MaxLength { get; init; }
    public string? Pattern { get; init; }
    public string? Label { get; init; }
}

public enum FieldType { Text, Email, Phone, Number, Checkbox, Hidden }

/// <summary>On <see cref="On"/> at page <see cref="From"/> (optionally only <see cref="When"/>), go to <see cref="To"/>.</summary>
public sealed record FunnelTransition
{
    public string From { get; init; } = "";
    public string On { get; init; } = "";
    public string To { get; init; } = "";
    public TransitionCondition? When { get; init; }
}

/// <summary>A condition on the submitted form data: one field equals / differs from / is one of values, or is present.</summary>
public sealed record TransitionCondition
{
    public string Field { get; init; } = "";
    [JsonPropertyName("equals")]
    public JsonElement? EqualTo { get; init; }

    [JsonPropertyName("not_equals")]
    public JsonElement? NotEqualTo { get; init; }

    public IReadOnlyList<JsonElement>? In { get; init; }
    public bool? Exists { get; init; }
}
