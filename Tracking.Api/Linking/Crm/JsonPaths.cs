using System.Text;
using System.Text.Json;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// The small JSONPath subset the generic adapter is configured with: <c>$</c>, <c>.name</c>,
/// <c>['any label']</c> / <c>["any label"]</c> and <c>[0]</c>, e.g. <c>$.data.fields['Visitor ID']</c>.
/// Hand-written because a path here selects one value and needs no filters, wildcards or
/// scripts (a full JSONPath library would accept expressions we would then have to refuse).
/// </summary>
public static class JsonPaths
{
    public const string Rule = "must be a JSON path such as $.contact.id, $.data['Visitor ID'] or $.items[0].email (names, ['quoted names'] and [indexes] only)";

    /// <summary>The path's steps (a property name, or an index), or null when it is not a path of the subset.</summary>
    public static IReadOnlyList<object>? Steps(string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Length > 256) return null;
        var steps = new List<object>();
        var i = path.StartsWith('$') ? 1 : 0;
        if (i == 0 && path[0] is not ('.' or '[')) path = "." + path;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var start = ++i;
                while (i < path.Length && path[i] is not ('.' or '[')) i++;
                if (i == start) return null;
                steps.Add(path[start..i]);
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] is '\'' or '"')
            {
                var quote = path[i + 1];
                var name = new StringBuilder();
                i += 2;
                while (i < path.Length && path[i] != quote)
                {
                    if (path[i] == '\\' && i + 1 < path.Length) i++;
                    name.Append(path[i++]);
                }
                if (i + 1 >= path.Length || path[i + 1] != ']') return null;
                steps.Add(name.ToString());
                i += 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), System.Globalization.NumberStyles.None, null, out var index)) return null;
                steps.Add(index);
                i = end + 1;
            }
            else
            {
                return null;
            }
        }
        return steps.Count == 0 ? null : steps;
    }

    /// <summary>The value at the path, or default (Undefined) when some step is not there.</summary>
    public static JsonElement Select(JsonElement root, IReadOnlyList<object> steps)
    {
        var current = root;
        foreach (var step in steps)
        {
            current = step switch
            {
                string name when current.ValueKind == JsonValueKind.Object && current.TryGetProperty(name, out var next) => next,
                int index when current.ValueKind == JsonValueKind.Array && index < current.GetArrayLength() => current[index],
                _ => default,
            };
            if (current.ValueKind == JsonValueKind.Undefined) break;
        }
        return current;
    }
}
