using System.Text.Json.Nodes;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Runs;

namespace Funnels.Messaging.Sending;

/// <summary>
/// The <c>interactive</c> object of a Graph API send, as Meta documents it: <c>type: button</c> with
/// <c>action.buttons[]{type: reply, reply{id, title}}</c>, or <c>type: list</c> with <c>action.button</c>
/// and <c>action.sections[].rows[]{id, title, description}</c>. Header, body and footer interpolate
/// the run context; ids and titles are sent as saved (the validator checked them against Meta's limits).
/// </summary>
public static class InteractiveMessages
{
    public static JsonObject Build(JsonObject node, JsonObject context)
    {
        var list = InteractiveNode.IsList(node);
        var interactive = new JsonObject { ["type"] = list ? "list" : "button" };
        if (node.Str("header") is { } header) interactive["header"] = new JsonObject { ["type"] = "text", ["text"] = FlowContext.Interpolate(header, context) };
        interactive["body"] = new JsonObject { ["text"] = FlowContext.Interpolate(node.Str("body")!, context) };
        if (node.Str("footer") is { } footer) interactive["footer"] = new JsonObject { ["text"] = FlowContext.Interpolate(footer, context) };
        interactive["action"] = list
            ? new JsonObject
            {
                ["button"] = node.Str("button"),
                ["sections"] = new JsonArray(node["sections"]!.AsArray().Select(s => (JsonNode)Section(s!.AsObject())).ToArray()),
            }
            : new JsonObject
            {
                ["buttons"] = new JsonArray(node["buttons"]!.AsArray().Select(b => (JsonNode)new JsonObject
                {
                    ["type"] = "reply",
                    ["reply"] = new JsonObject { ["id"] = b!.AsObject().Str("id"), ["title"] = b.AsObject().Str("title") },
                }).ToArray()),
            };
        return interactive;
    }

    private static JsonObject Section(JsonObject section)
    {
        var result = new JsonObject();
        if (section.Str("title") is { } title) result["title"] = title;
        result["rows"] = new JsonArray(section["rows"]!.AsArray().Select(r =>
        {
            var row = r!.AsObject();
            var built = new JsonObject { ["id"] = row.Str("id"), ["title"] = row.Str("title") };
            if (row.Str("description") is { } description) built["description"] = description;
            return (JsonNode)built;
        }).ToArray());
        return result;
    }
}
