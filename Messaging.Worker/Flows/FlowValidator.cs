using System.Text.Json;
using System.Text.RegularExpressions;
using Funnels.ServiceDefaults.Outbound;

namespace Funnels.Messaging.Flows;

/// <summary>A flow as an admin saves it, once valid.</summary>
public sealed record FlowInput(string Name, string Status, string? ChannelPhoneNumberId, IReadOnlyList<TriggerInput> Triggers, string Definition);

/// <summary>A phrase trigger or a funnel's lead capture (any funnel when FunnelId is null).</summary>
public sealed record TriggerInput(string Type, string? Phrase, Guid? FunnelId);

/// <summary>
/// Checks a flow before it is saved and names every problem by its JSON path
/// (<c>definition.nodes.ask.pattern</c>): unknown node types, paths to nodes that do not exist,
/// regular expressions that do not compile, missing or out-of-range fields.
/// </summary>
public static class FlowValidator
{
    public static readonly IReadOnlySet<string> Statuses = new HashSet<string>(["draft", "active", "paused"]);
    public const int MaxWaitSeconds = 30 * 24 * 3600;

    /// <summary>
    /// <see cref="Validate(JsonElement)"/>, and every webhook node's URL checked against the outbound
    /// policy (scheme, literal inside addresses, localhost, what the name resolves to now).
    /// </summary>
    public static async Task<(FlowInput? Flow, Dictionary<string, string[]> Errors)> ValidateAsync(JsonElement body, OutboundPolicy policy, CancellationToken cancellationToken)
    {
        var (flow, errors) = Validate(body);
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("definition", out var definition) && definition.ValueKind == JsonValueKind.Object
            && definition.TryGetProperty("nodes", out var nodes) && nodes.ValueKind == JsonValueKind.Object)
        {
            foreach (var node in nodes.EnumerateObject().Where(n => Str(n.Value, "type") == NodeTypes.Webhook))
            {
                var path = $"definition.nodes.{node.Name}.url";
                if (!errors.ContainsKey(path) && await policy.CheckAsync(Str(node.Value, "url"), cancellationToken) is { } refusal)
                {
                    errors[path] = [refusal];
                }
            }
        }
        return errors.Count > 0 ? (null, errors) : (flow, errors);
    }

    public static (FlowInput? Flow, Dictionary<string, string[]> Errors) Validate(JsonElement body)
    {
        var errors = new Dictionary<string, string[]>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object"];
            return (null, errors);
        }
        var name = Str(body, "name");
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        var status = Str(body, "status") ?? "draft";
        if (!Statuses.Contains(status)) errors["status"] = ["must be one of draft, active, paused"];
        var channel = Str(body, "channel_phone_number_id");
        if (channel is not null && (channel.Length is 0 or > 64 || !channel.All(char.IsAsciiDigit))) errors["channel_phone_number_id"] = ["must be Meta's numeric phone-number id"];

        var triggers = new List<TriggerInput>();
        if (body.TryGetProperty("triggers", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                errors["triggers"] = ["must be an array"];
            }
            else
            {
                var i = 0;
                foreach (var trigger in list.EnumerateArray())
                {
                    var path = $"triggers[{i++}]";
                    var type = Str(trigger, "type");
                    if (type == "phrase")
                    {
                        var phrase = Str(trigger, "phrase");
                        if (string.IsNullOrWhiteSpace(phrase) || phrase.Length > 256) errors[$"{path}.phrase"] = ["is required, at most 256 characters"];
                        else triggers.Add(new TriggerInput(type, phrase, null));
                    }
                    else if (type == "lead_captured")
                    {
                        Guid? funnel = null;
                        if (Str(trigger, "funnel_id") is { } f)
                        {
                            if (Guid.TryParse(f, out var id)) funnel = id;
                            else errors[$"{path}.funnel_id"] = ["must be a funnel id (uuid) or absent for any funnel"];
                        }
                        if (channel is null) errors["channel_phone_number_id"] = ["is required when a lead_captured trigger starts the flow: it is the number the flow writes from"];
                        triggers.Add(new TriggerInput(type, null, funnel));
                    }
                    else
                    {
                        errors[$"{path}.type"] = ["must be phrase or lead_captured"];
                    }
                }
            }
        }

        if (!body.TryGetProperty("definition", out var definition) || definition.ValueKind != JsonValueKind.Object)
        {
            errors["definition"] = ["is required: an object with start and nodes"];
        }
        else
        {
            ValidateDefinition(definition, errors);
        }
        return errors.Count > 0 ? (null, errors) : (new FlowInput(name!.Trim(), status, channel, triggers, definition.GetRawText()), errors);
    }

    private static void ValidateDefinition(JsonElement definition, Dictionary<string, string[]> errors)
    {
        if (!definition.TryGetProperty("nodes", out var nodes) || nodes.ValueKind != JsonValueKind.Object || !nodes.EnumerateObject().Any())
        {
            errors["definition.nodes"] = ["is required: an object of nodes keyed by id"];
            return;
        }
        var ids = nodes.EnumerateObject().Select(p => p.Name).ToHashSet();
        if (definition.TryGetProperty(FlowDefinition.TriggerInterruptsWaitField, out var interrupts) && interrupts.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            errors[$"definition.{FlowDefinition.TriggerInterruptsWaitField}"] = ["must be true (another flow's trigger cancels a run of this flow waiting for a reply) or false (it is the run's reply)"];
        var start = Str(definition, "start");
        if (start is null || !ids.Contains(start)) errors["definition.start"] = ["must name a node in definition.nodes"];

        foreach (var property in nodes.EnumerateObject())
        {
            var path = $"definition.nodes.{property.Name}";
            var node = property.Value;
            if (node.ValueKind != JsonValueKind.Object)
            {
                errors[path] = ["must be an object"];
                continue;
            }
            var type = Str(node, "type");
            if (type is null || !NodeTypes.All.Contains(type))
            {
                errors[$"{path}.type"] = [$"'{type}' is not a node type; use one of {string.Join(", ", NodeTypes.All)}"];
                continue;
            }
            void Path(string field, bool required)
            {
                var target = Str(node, field);
                if (target is null)
                {
                    if (required || node.TryGetProperty(field, out _)) errors[$"{path}.{field}"] = ["must name a node in definition.nodes"];
                }
                else if (!ids.Contains(target))
                {
                    errors[$"{path}.{field}"] = [$"names '{target}', which is not a node"];
                }
            }
            void Required(string field)
            {
                if (string.IsNullOrWhiteSpace(Str(node, field))) errors[$"{path}.{field}"] = ["is required"];
            }
            void Seconds(string field, bool required)
            {
                if (!node.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
                {
                    if (required) errors[$"{path}.{field}"] = [$"is required: whole seconds, 1 to {MaxWaitSeconds}"];
                }
                else if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var s) || s < 1 || s > MaxWaitSeconds)
                {
                    errors[$"{path}.{field}"] = [$"must be whole seconds, 1 to {MaxWaitSeconds}"];
                }
            }
            void Regex(string field)
            {
                if (Str(node, field) is { } pattern)
                {
                    try
                    {
                        _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
                    }
                    catch (ArgumentException ex)
                    {
                        errors[$"{path}.{field}"] = [$"is not a valid regular expression: {ex.Message}"];
                    }
                }
            }

            if (type != NodeTypes.End && type != NodeTypes.Intent && type != NodeTypes.Condition) Path("next", required: false);
            switch (type)
            {
                case NodeTypes.SendText:
                    Required("text");
                    break;
                case NodeTypes.SendTemplate:
                    Required("template");
                    Required("language");
                    if (node.TryGetProperty("components", out var components) && components.ValueKind != JsonValueKind.Array)
                        errors[$"{path}.components"] = ["must be an array of Meta template components"];
                    break;
                case NodeTypes.SendMedia:
                    if (Str(node, "media_type") is not { } media || !NodeTypes.MediaTypes.Contains(media))
                        errors[$"{path}.media_type"] = [$"must be one of {string.Join(", ", NodeTypes.MediaTypes)}"];
                    if (!Uri.TryCreate(Str(node, "url"), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                        errors[$"{path}.url"] = ["must be an absolute http or https URL"];
                    break;
                case NodeTypes.SendInteractive:
                    InteractiveNode.Validate(node, path, errors);
                    break;
                case NodeTypes.SetAttribute:
                    Required("key");
                    if (!node.TryGetProperty("value", out _)) errors[$"{path}.value"] = ["is required"];
                    break;
                case NodeTypes.Webhook:
                    if (!Uri.TryCreate(Str(node, "url"), UriKind.Absolute, out var hook) || hook.Scheme is not ("http" or "https"))
                        errors[$"{path}.url"] = ["must be an absolute http or https URL"];
                    break;
                case NodeTypes.Wait or NodeTypes.Delay:
                    Seconds("seconds", required: true);
                    break;
                case NodeTypes.WaitForReply:
                    Regex("pattern");
                    Seconds("timeout_seconds", required: false);
                    if (node.TryGetProperty("timeout_seconds", out _)) Path("timeout_path", required: true);
                    else if (node.TryGetProperty("timeout_path", out _)) errors[$"{path}.timeout_seconds"] = ["is required with timeout_path"];
                    break;
                case NodeTypes.Intent:
                    if (!node.TryGetProperty("map", out var map) || map.ValueKind != JsonValueKind.Object)
                    {
                        errors[$"{path}.map"] = ["is required: an object of keyword to node id"];
                    }
                    else
                    {
                        foreach (var keyword in map.EnumerateObject())
                        {
                            if (keyword.Value.ValueKind != JsonValueKind.String || !ids.Contains(keyword.Value.GetString()!))
                                errors[$"{path}.map.{keyword.Name}"] = ["must name a node in definition.nodes"];
                        }
                    }
                    Path("default", required: true);
                    break;
                case NodeTypes.Condition:
                    Required("field");
                    if (Str(node, "operator") is { } op && !NodeTypes.Operators.Contains(op))
                        errors[$"{path}.operator"] = [$"must be one of {string.Join(", ", NodeTypes.Operators)}"];
                    if (Str(node, "operator") == "matches") Regex("value");
                    Path("then", required: true);
                    Path("else", required: true);
                    break;
            }
        }
    }

    private static string? Str(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
