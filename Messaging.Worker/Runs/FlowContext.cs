using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Funnels.Messaging.Runs;

/// <summary>
/// A run's context JSON: <c>contact</c> (name, phone, wa_id), <c>attributes</c>, <c>trigger</c>
/// (what started it), <c>reply</c> (the last reply), <c>webhooks</c> (responses by node id),
/// <c>interactive</c> (the node and choices of the last interactive message sent).
/// Text interpolates <c>{{dotted.path}}</c> from it; conditions read the same paths.
/// </summary>
public static partial class FlowContext
{
    public static JsonNode? Resolve(JsonObject context, string path)
    {
        JsonNode? current = context;
        foreach (var part in path.Split('.'))
        {
            current = current is JsonObject o && o.TryGetPropertyValue(part, out var next) ? next : null;
            if (current is null) return null;
        }
        return current;
    }

    public static string? Text(JsonObject context, string path) => Resolve(context, path) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => other.ToJsonString(),
    };

    public static string Interpolate(string template, JsonObject context) =>
        Placeholder().Replace(template, m => Text(context, m.Groups[1].Value) ?? "");

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
