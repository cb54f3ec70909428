using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Admin.Api;

namespace Funnels.Admin.Pages.Flows;

/// <summary>The create/edit form of a flow, and the API's errors (keyed by JSON path) mapped back onto its fields.</summary>
public sealed class FlowForm
{
    public const string StarterTriggers = """
        [ { "type": "phrase", "phrase": "start" } ]
        """;

    public const string StarterDefinition = """
        {
          "start": "hello",
          "nodes": {
            "hello": { "type": "send_text", "text": "Hi {{contact.name}}! Reply yes to hear more.", "next": "answer" },
            "answer": { "type": "wait_for_reply", "pattern": "^(?i)yes$", "timeout_seconds": 3600, "timeout_path": "bye", "next": "more" },
            "more": { "type": "send_text", "text": "Here is more.", "next": "bye" },
            "bye": { "type": "end" }
          }
        }
        """;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Nullable: model binding turns an empty field into null.
    public string? Name { get; set; }
    public string? Status { get; set; } = "draft";
    public string? ChannelPhoneNumberId { get; set; }
    public string? Triggers { get; set; } = StarterTriggers;
    public string? Definition { get; set; } = StarterDefinition;

    /// <summary>
    /// The definition's <c>trigger_interrupts_wait</c>, edited as a checkbox (it wins over the same
    /// field typed in the definition, which the form leaves out): may another flow's trigger cancel
    /// a run of this flow that waits for a reply?
    /// </summary>
    public bool TriggerInterruptsWait { get; set; } = true;

    public const string TriggerInterruptsWaitField = "trigger_interrupts_wait";
    public Dictionary<string, string[]> Errors { get; set; } = [];

    public static FlowForm From(Flow flow) => new()
    {
        Name = flow.Name,
        Status = flow.Status,
        ChannelPhoneNumberId = flow.ChannelPhoneNumberId,
        Triggers = JsonSerializer.Serialize(flow.Triggers, Indented),
        Definition = JsonSerializer.Serialize(WithoutRule(flow.Definition), Indented),
        TriggerInterruptsWait = InterruptsWait(flow.Definition),
    };

    /// <summary>Whether a definition lets other flows' triggers interrupt its waits (absent: yes).</summary>
    public static bool InterruptsWait(JsonElement definition) =>
        definition.ValueKind != JsonValueKind.Object || !definition.TryGetProperty(TriggerInterruptsWaitField, out var rule) || rule.ValueKind != JsonValueKind.False;

    private static JsonNode? WithoutRule(JsonElement definition)
    {
        var node = JsonNode.Parse(definition.GetRawText());
        (node as JsonObject)?.Remove(TriggerInterruptsWaitField);
        return node;
    }

    /// <summary>The typed definition with the checkbox's rule: written only when off, absent meaning the default (on).</summary>
    private JsonElement WithRule(JsonElement definition)
    {
        if (JsonNode.Parse(definition.GetRawText()) is not JsonObject node) return definition; // the API names what is wrong with it
        node.Remove(TriggerInterruptsWaitField);
        if (!TriggerInterruptsWait) node[TriggerInterruptsWaitField] = false;
        return JsonSerializer.SerializeToElement(node);
    }

    /// <summary>The request, or null with errors on the JSON fields that do not parse at all.</summary>
    public FlowRequest? ToRequest()
    {
        var triggers = Parse("triggers", string.IsNullOrWhiteSpace(Triggers) ? "[]" : Triggers);
        var definition = Parse("definition", Definition ?? "");
        return triggers is { } t && definition is { } d
            ? new FlowRequest(Name ?? "", Status ?? "draft", string.IsNullOrWhiteSpace(ChannelPhoneNumberId) ? null : ChannelPhoneNumberId.Trim(), t, WithRule(d))
            : null;
    }

    private JsonElement? Parse(string field, string json)
    {
        try
        {
            return JsonDocument.Parse(json).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            Errors[field] = [$"is not valid JSON: {ex.Message}"];
            return null;
        }
    }

    public string[] ErrorsFor(string key) => Errors.TryGetValue(key, out var e) ? e : [];

    /// <summary>The errors at a JSON field and below it, each with its path (definition.nodes.ask.pattern).</summary>
    public IEnumerable<(string Path, string[] Messages)> ErrorsUnder(string field) =>
        Errors.Where(e => e.Key == field || e.Key.StartsWith(field + ".") || e.Key.StartsWith(field + "[")).Select(e => (e.Key, e.Value));

    /// <summary>Errors no field shows (a "body" problem, or a refusal without field errors).</summary>
    public string[] Unplaced =>
        Errors.Where(e => e.Key is "" or "body").SelectMany(e => e.Value).ToArray();
}
