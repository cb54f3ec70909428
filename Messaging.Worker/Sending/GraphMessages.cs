using System.Text.Json.Nodes;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Runs;

namespace Funnels.Messaging.Sending;

/// <summary>The bodies of Meta's <c>POST /{phone-number-id}/messages</c>, as its documentation shows them.</summary>
public static class GraphMessages
{
    public static JsonObject Build(JsonObject node, string to, JsonObject context)
    {
        var message = new JsonObject { ["messaging_product"] = "whatsapp", ["recipient_type"] = "individual", ["to"] = to };
        switch (node.TypeOf())
        {
            case NodeTypes.SendText:
                message["type"] = "text";
                message["text"] = new JsonObject
                {
                    ["preview_url"] = node["preview_url"]?.GetValue<bool>() ?? false,
                    ["body"] = FlowContext.Interpolate(node.Str("text")!, context),
                };
                break;
            case NodeTypes.SendTemplate:
                message["type"] = "template";
                var template = new JsonObject { ["name"] = node.Str("template"), ["language"] = new JsonObject { ["code"] = node.Str("language") } };
                if (node["components"] is JsonArray components)
                {
                    // Parameters may interpolate the context too: {"type": "text", "text": "{{contact.name}}"}.
                    template["components"] = JsonNode.Parse(FlowContext.Interpolate(components.ToJsonString(), context));
                }
                message["template"] = template;
                break;
            case NodeTypes.SendMedia:
                var type = node.Str("media_type")!;
                var media = new JsonObject { ["link"] = node.Str("url") };
                if (node.Str("caption") is { } caption && type is not ("audio" or "sticker")) media["caption"] = FlowContext.Interpolate(caption, context);
                if (node.Str("filename") is { } filename && type == "document") media["filename"] = filename;
                message["type"] = type;
                message[type] = media;
                break;
            case NodeTypes.SendInteractive:
                message["type"] = "interactive";
                message["interactive"] = InteractiveMessages.Build(node, context);
                break;
        }
        return message;
    }
}
