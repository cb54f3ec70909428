using System.Text.Json;
using System.Text.Json.Nodes;

namespace Funnels.Messaging.Flows;

/// <summary>
/// A <c>send_interactive</c> node: reply buttons (<c>buttons</c>, up to 3) or a list message
/// (<c>button</c> and <c>sections[].rows[]</c>), with Meta's documented limits checked at save time,
/// so a flow never reaches the Graph API with a message Meta would refuse for its shape.
/// </summary>
public static class InteractiveNode
{
    // Meta's limits (Cloud API "Interactive reply buttons messages" and "Interactive list messages"), in characters.
    public const int MaxButtons = 3;
    public const int MaxButtonTitle = 20;
    public const int MaxButtonId = 256;
    public const int MaxButtonsBody = 1024;
    public const int MaxListBody = 4096;
    public const int MaxHeader = 60;
    public const int MaxFooter = 60;
    public const int MaxListButton = 20;
    public const int MaxSections = 10;
    public const int MaxRows = 10;
    public const int MaxSectionTitle = 24;
    public const int MaxRowId = 200;
    public const int MaxRowTitle = 24;
    public const int MaxRowDescription = 72;

    /// <summary>Whether the node sends a list message (it has <c>sections</c>) rather than reply buttons.</summary>
    public static bool IsList(JsonObject node) => node.ContainsKey("sections");

    /// <summary>The choices the contact can tap (button or row ids and titles), as the engine remembers them while the run waits.</summary>
    public static JsonArray Choices(JsonObject node) =>
        new((IsList(node)
                ? node["sections"]!.AsArray().SelectMany(s => s!["rows"]!.AsArray())
                : node["buttons"]!.AsArray())
            .Select(c => (JsonNode)new JsonObject { ["id"] = c!["id"]!.GetValue<string>(), ["title"] = c["title"]!.GetValue<string>() }).ToArray());

    /// <summary>Adds an error per broken field, keyed by path (<c>definition.nodes.menu.buttons[1].title</c>).</summary>
    public static void Validate(JsonElement node, string path, Dictionary<string, string[]> errors)
    {
        var hasButtons = node.TryGetProperty("buttons", out var buttons);
        var hasSections = node.TryGetProperty("sections", out var sections);
        if (hasButtons == hasSections)
        {
            errors[path] = ["needs either buttons (reply buttons) or sections (a list message), not both"];
            return;
        }
        var list = hasSections;
        Text(node, "body", path, errors, required: true, list ? MaxListBody : MaxButtonsBody);
        Text(node, "header", path, errors, required: false, MaxHeader);
        Text(node, "footer", path, errors, required: false, MaxFooter);
        if (!list)
        {
            if (buttons.ValueKind != JsonValueKind.Array || buttons.GetArrayLength() is 0 or > MaxButtons)
            {
                errors[$"{path}.buttons"] = [$"must be an array of 1 to {MaxButtons} buttons ({{\"id\", \"title\"}})"];
                return;
            }
            Choices(buttons.EnumerateArray(), $"{path}.buttons", errors, MaxButtonId, MaxButtonTitle, description: null);
            return;
        }
        if (node.TryGetProperty("button", out _)) Text(node, "button", path, errors, required: true, MaxListButton);
        else errors[$"{path}.button"] = [$"is required: the text of the button that opens the list, at most {MaxListButton} characters"];
        if (sections.ValueKind != JsonValueKind.Array || sections.GetArrayLength() is 0 or > MaxSections)
        {
            errors[$"{path}.sections"] = [$"must be an array of 1 to {MaxSections} sections ({{\"title\", \"rows\"}})"];
            return;
        }
        var rows = new List<(string Path, JsonElement Row)>();
        var i = 0;
        foreach (var section in sections.EnumerateArray())
        {
            var sectionPath = $"{path}.sections[{i++}]";
            if (section.ValueKind != JsonValueKind.Object)
            {
                errors[sectionPath] = ["must be an object with title and rows"];
                continue;
            }
            // Meta requires a section title once there is more than one section.
            Text(section, "title", sectionPath, errors, required: sections.GetArrayLength() > 1, MaxSectionTitle);
            if (!section.TryGetProperty("rows", out var sectionRows) || sectionRows.ValueKind != JsonValueKind.Array || sectionRows.GetArrayLength() == 0)
            {
                errors[$"{sectionPath}.rows"] = ["must be an array of at least one row ({\"id\", \"title\", \"description\"})"];
                continue;
            }
            var r = 0;
            rows.AddRange(sectionRows.EnumerateArray().Select(row => ($"{sectionPath}.rows[{r++}]", row)));
        }
        if (rows.Count > MaxRows)
        {
            errors[$"{path}.sections"] = [$"has {rows.Count} rows; a list message has at most {MaxRows} rows across all its sections"];
        }
        Choices(rows, errors, MaxRowId, MaxRowTitle, MaxRowDescription);
    }

    private static void Choices(IEnumerable<JsonElement> items, string path, Dictionary<string, string[]> errors, int maxId, int maxTitle, int? description)
    {
        var i = 0;
        Choices(items.Select(item => ($"{path}[{i++}]", item)).ToList(), errors, maxId, maxTitle, description);
    }

    /// <summary>Each button or row: an id and title within Meta's limits, both unique within the message (a tap must say which one it was).</summary>
    private static void Choices(List<(string Path, JsonElement Item)> items, Dictionary<string, string[]> errors, int maxId, int maxTitle, int? maxDescription)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var titles = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (path, item) in items)
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors[path] = ["must be an object with id and title"];
                continue;
            }
            if (Text(item, "id", path, errors, required: true, maxId) is { } id)
            {
                if (id.Trim() != id) errors[$"{path}.id"] = ["must not start or end with spaces"];
                else if (!ids.Add(id)) errors[$"{path}.id"] = [$"'{id}' is used twice in this message"];
            }
            if (Text(item, "title", path, errors, required: true, maxTitle) is { } title && !titles.Add(title.Trim()))
            {
                errors[$"{path}.title"] = [$"'{title}' is used twice in this message"];
            }
            if (maxDescription is { } max) Text(item, "description", path, errors, required: false, max);
            else if (item.TryGetProperty("description", out _)) errors[$"{path}.description"] = ["is for list rows only; reply buttons have an id and a title"];
        }
    }

    /// <summary>The string field, or null with an error when it is missing (if required), not a string, blank or too long.</summary>
    private static string? Text(JsonElement parent, string field, string path, Dictionary<string, string[]> errors, bool required, int max)
    {
        if (!parent.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) errors[$"{path}.{field}"] = [$"is required, at most {max} characters"];
            return null;
        }
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            errors[$"{path}.{field}"] = [$"must be non-empty text, at most {max} characters"];
            return null;
        }
        var text = value.GetString()!;
        // Characters as people count them: an emoji is one (a UTF-16 length would count it twice).
        var length = text.EnumerateRunes().Count();
        if (length > max)
        {
            errors[$"{path}.{field}"] = [$"is {length} characters; Meta allows at most {max}"];
            return null;
        }
        return text;
    }
}
