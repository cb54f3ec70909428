using System.Text.Json;

namespace Funnels.Runtime.Funnels;

/// <summary>Where an event takes a lead: the first transition from its page on that event whose condition holds.</summary>
public static class Navigation
{
    public static FunnelTransition? Next(FunnelSchema schema, string pageId, string eventType, JsonElement formData) =>
        schema.Transitions.FirstOrDefault(t => t.From == pageId && t.On == eventType && Holds(t.When, formData));

    /// <summary>A lead converts on a purchase, or when it reaches a thank-you page.</summary>
    public static bool Converts(FunnelSchema schema, string eventType, string? toPageId) =>
        eventType == FunnelEventTypes.Purchase || (toPageId is not null && schema.Page(toPageId)?.Kind == PageKind.ThankYou);

    private static bool Holds(TransitionCondition? when, JsonElement formData)
    {
        if (when is null)
        {
            return true;
        }
        var present = formData.ValueKind == JsonValueKind.Object
            && formData.TryGetProperty(when.Field, out var value)
            && value.ValueKind != JsonValueKind.Null;
        if (when.Exists is { } exists)
        {
            return exists == present;
        }
        if (!present)
        {
            return when.NotEqualTo is not null;
        }
        var actual = formData.GetProperty(when.Field);
        if (when.EqualTo is { } expected) return Same(actual, expected);
        if (when.NotEqualTo is { } unexpected) return !Same(actual, unexpected);
        if (when.In is { } options) return options.Any(o => Same(actual, o));
        return true;
    }

    // Form values often arrive as text ("true", "3"); compare them the way a person reads them.
    private static bool Same(JsonElement actual, JsonElement expected) =>
        Text(actual).Equals(Text(expected), StringComparison.OrdinalIgnoreCase);

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!.Trim(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };
}
