using System.Text.Json;
using System.Text.Json.Nodes;

namespace Funnels.Messaging.Flows;

/// <summary>
/// A flow graph as saved: <c>{"start": "node-id", "nodes": {"node-id": {"type": ..., ...}}}</c>.
/// Nodes are kept as JSON objects and read by the engine through the accessors below; the
/// validator has already checked every field the engine reads.
/// </summary>
public sealed class FlowDefinition
{
    public required string Start { get; init; }
    public required IReadOnlyDictionary<string, JsonObject> Nodes { get; init; }

    /// <summary>
    /// <c>trigger_interrupts_wait</c> (default true): while a run of this flow waits for a reply, may a
    /// message matching another active flow's trigger cancel it and start that flow? False: the
    /// message is this run's reply. See <see cref="WhatsApp.InboundRoutes"/>.
    /// </summary>
    public bool TriggerInterruptsWait { get; init; } = true;

    public const string TriggerInterruptsWaitField = "trigger_interrupts_wait";

    public static FlowDefinition Parse(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        return new FlowDefinition
        {
            Start = root["start"]!.GetValue<string>(),
            Nodes = root["nodes"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.AsObject()),
            TriggerInterruptsWait = root[TriggerInterruptsWaitField] is not JsonValue v || v.GetValueKind() != JsonValueKind.False,
        };
    }
}

public static class NodeTypes
{
    public const string Intent = "intent";
    public const string SendText = "send_text";
    public const string SendTemplate = "send_template";
    public const string SendMedia = "send_media";
    public const string SendInteractive = "send_interactive";
    public const string SetAttribute = "set_attribute";
    public const string Webhook = "webhook";
    public const string Wait = "wait";
    public const string Delay = "delay";
    public const string WaitForReply = "wait_for_reply";
    public const string Condition = "condition";
    public const string End = "end";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(
        [Intent, SendText, SendTemplate, SendMedia, SendInteractive, SetAttribute, Webhook, Wait, Delay, WaitForReply, Condition, End]);

    public static readonly IReadOnlySet<string> MediaTypes = new HashSet<string>(["image", "video", "audio", "document", "sticker"]);

    public static readonly IReadOnlySet<string> Operators = new HashSet<string>(["equals", "not_equals", "contains", "matches", "exists", "not_exists"]);
}

public static class NodeFields
{
    public static string? Str(this JsonObject node, string name) =>
        node[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static int? Int(this JsonObject node, string name) =>
        node[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i) ? i : null;

    public static string TypeOf(this JsonObject node) => node.Str("type") ?? "";
}
