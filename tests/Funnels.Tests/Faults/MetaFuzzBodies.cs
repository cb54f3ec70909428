using System.Text.Json.Nodes;

namespace Funnels.Tests.Faults;

/// <summary>
/// Meta Cloud API deliveries shaped as Meta's messages webhook reference shows them (text, button,
/// interactive button_reply and list_reply, image, location, unsupported messages; sent, delivered,
/// read and failed statuses; errors-only values), each with one field inside a message, status or
/// error broken: a wrong type, a missing id, an absurd timestamp, an unknown status or type, a huge
/// string, a JSON null. Every body stays a JSON object under WhatsApp:MaxBodyBytes and is signed,
/// so it reaches the worker's parser. Each carries <c>marker</c> in its entry id (which nothing reads),
/// so the test finds its envelopes.
/// </summary>
public static class MetaFuzzBodies
{
    public sealed record Mutation(string Name, string Body);

    public const string NulText = "message text with a NUL character";

    /// <summary>What a broken field becomes.</summary>
    private static readonly (string Name, Func<JsonNode?> Value)[] Breaks =
    [
        ("missing", () => Removed),
        ("null", () => null),
        ("number", () => 12345),
        ("bool", () => true),
        ("array", () => new JsonArray(1, "x")),
        ("object", () => new JsonObject { ["x"] = 1 }),
        ("empty", () => ""),
        ("huge", () => new string('h', 100_000)),
    ];

    /// <summary>Stands for "the field removed" (never attached to a body).</summary>
    private static readonly JsonObject Removed = new();

    private static readonly string[] AbsurdTimestamps =
        ["99999999999999999999", "9223372036854775807", "-9223372036854775808", "253402300800", "-62135596801", "1e10", "yesterday", "-1", "0"];

    public static IReadOnlyList<Mutation> All(string phoneNumberId, string marker)
    {
        var list = new List<Mutation>();
        var n = 0;
        void Add(string name, JsonObject value, string? pnid = null) =>
            list.Add(new Mutation(name, Delivery(pnid ?? phoneNumberId, marker + "-" + n++, value)));

        foreach (var (name, type, message) in Messages())
        {
            // Every break of every field for text; the likelier ones for the other types.
            var breaks = name == "text" ? Breaks : Breaks.Where(b => b.Name is "missing" or "null" or "number" or "object" or "huge").ToArray();
            foreach (var field in new[] { "id", "from", "type", "timestamp", type })
            {
                foreach (var (breakName, value) in breaks)
                {
                    Add($"message {name}.{field} {breakName}", MessageValue(Set(message(), field, value)));
                }
            }
            // One level down in the content: text.body, button.payload, interactive.type, image.id, location.latitude...
            foreach (var inner in message()[type]!.AsObject().Select(p => p.Key).Take(name == "text" ? 1 : 2))
            {
                foreach (var (breakName, value) in breaks)
                {
                    Add($"message {name}.{type}.{inner} {breakName}", MessageValue(SetInner(message(), type, inner, value)));
                }
            }
            foreach (var timestamp in name == "text" ? AbsurdTimestamps : AbsurdTimestamps.Take(3))
            {
                Add($"message {name}.timestamp {timestamp}", MessageValue(Set(message(), "timestamp", () => timestamp)));
            }
        }
        foreach (var unknown in new[] { "hologram", "", "TEXT", "interactive" })
        {
            var message = Message("text", new JsonObject { ["body"] = "hi" });
            message["type"] = unknown;
            if (unknown == "interactive") message["interactive"] = new JsonObject { ["type"] = "nfm_reply", ["nfm_reply"] = new JsonObject { ["response_json"] = "{}" } };
            Add($"message of unknown type '{unknown}'", MessageValue(message));
        }
        Add(NulText, MessageValue(Message("text", new JsonObject { ["body"] = "before\u0000after" })));

        foreach (var status in new[] { "sent", "delivered", "read", "failed" })
        {
            foreach (var field in new[] { "id", "status", "timestamp", "recipient_id", "errors", "conversation", "pricing" })
            {
                foreach (var (breakName, value) in Breaks.Where(b => b.Name != "huge" || field is "id" or "recipient_id"))
                {
                    Add($"status {status}.{field} {breakName}", StatusValue(Set(Status(status), field, value)));
                }
            }
            foreach (var timestamp in AbsurdTimestamps.Take(5))
            {
                Add($"status {status}.timestamp {timestamp}", StatusValue(Set(Status(status), "timestamp", () => timestamp)));
            }
        }
        foreach (var unknown in new[] { "exploded", "", "READ", "deleted", "warning" })
        {
            Add($"status '{unknown}'", StatusValue(Set(Status("sent"), "status", () => unknown)));
        }
        foreach (var (breakName, value) in Breaks)
        {
            Add($"status failed.errors[0].code {breakName}", StatusValue(Set(Status("failed"), "errors", () => new JsonArray(Set(Error(), "code", value)))));
            Add($"errors-only errors[0].code {breakName}", ErrorsValue(Set(Error(), "code", value)));
            Add($"errors-only errors[0].title {breakName}", ErrorsValue(Set(Error(), "title", value)));
            Add($"errors-only errors[0].error_data {breakName}", ErrorsValue(Set(Error(), "error_data", value)));
            Add($"errors-only errors[0].error_data.details {breakName}", ErrorsValue(SetInner(Error(), "error_data", "details", value)));
            Add($"errors-only errors {breakName}", Set(new JsonObject(), "errors", value));
            Add($"value messages {breakName}", Set(new JsonObject { ["contacts"] = Contacts() }, "messages", value));
            Add($"value statuses {breakName}", Set(new JsonObject(), "statuses", value));
            Add($"value contacts {breakName}", Set(new JsonObject { ["messages"] = new JsonArray(Message("text", new JsonObject { ["body"] = "hi" })) }, "contacts", value));
        }
        foreach (var code in new JsonNode[] { 1e30, -1, 2147483648, 0.5 })
        {
            Add($"errors-only code {code.ToJsonString()}", ErrorsValue(Set(Error(), "code", () => code.DeepClone())));
        }
        Add("message for a phone-number id nobody claimed", MessageValue(Message("text", new JsonObject { ["body"] = "hi" })), pnid: "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999));
        Add("status for a phone-number id nobody claimed", StatusValue(Status("read")), pnid: "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999));
        return list;
    }

    private static IEnumerable<(string Name, string Type, Func<JsonObject> Message)> Messages() =>
    [
        ("text", "text", () => Message("text", new JsonObject { ["body"] = "hello" })),
        ("button", "button", () => Message("button", new JsonObject { ["payload"] = "YES", ["text"] = "Yes" })),
        ("button_reply", "interactive", () => Message("interactive", new JsonObject { ["type"] = "button_reply", ["button_reply"] = new JsonObject { ["id"] = "yes", ["title"] = "Yes" } })),
        ("list_reply", "interactive", () => Message("interactive", new JsonObject { ["list_reply"] = new JsonObject { ["id"] = "row-1", ["title"] = "Row", ["description"] = "d" }, ["type"] = "list_reply" })),
        ("image", "image", () => Message("image", new JsonObject { ["id"] = "1479537139650973", ["caption"] = "a photo", ["mime_type"] = "image/jpeg", ["sha256"] = "HgWz" })),
        ("location", "location", () => Message("location", new JsonObject { ["latitude"] = 4.6, ["longitude"] = -74.08, ["name"] = "Bogotá", ["address"] = "Cra 7" })),
        ("unsupported", "unsupported", () => Unsupported()),
    ];

    private static JsonObject Message(string type, JsonObject content) => new()
    {
        ["from"] = "573001234567",
        ["id"] = "wamid.fuzz-" + Guid.NewGuid().ToString("N"),
        ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(),
        ["type"] = type,
        [type] = content,
    };

    private static JsonObject Unsupported()
    {
        var message = Message("unsupported", new JsonObject { ["type"] = "edit" });
        message["errors"] = new JsonArray(new JsonObject
        {
            ["code"] = 131051, ["title"] = "Message type unknown", ["message"] = "Message type unknown",
            ["error_data"] = new JsonObject { ["details"] = "Message type is currently not supported." },
        });
        return message;
    }

    private static JsonObject Status(string status)
    {
        var entry = new JsonObject
        {
            ["id"] = "wamid.fuzz-" + Guid.NewGuid().ToString("N"),
            ["status"] = status,
            ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(),
            ["recipient_id"] = "573001234567",
            ["conversation"] = new JsonObject { ["id"] = "CONVERSATION_ID", ["origin"] = new JsonObject { ["type"] = "service" } },
            ["pricing"] = new JsonObject { ["billable"] = false, ["pricing_model"] = "PMP", ["category"] = "service" },
        };
        if (status == "failed") entry["errors"] = new JsonArray(Error());
        return entry;
    }

    private static JsonObject Error() => new()
    {
        ["code"] = 131026, ["title"] = "Message undeliverable", ["message"] = "Message undeliverable",
        ["error_data"] = new JsonObject { ["details"] = "Message Undeliverable." },
        ["href"] = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    };

    private static JsonArray Contacts() => new(new JsonObject { ["profile"] = new JsonObject { ["name"] = "Ana" }, ["wa_id"] = "573001234567" });

    /// <summary>The field set to the break's value, or removed when it has none.</summary>
    private static JsonObject Set(JsonObject target, string field, Func<JsonNode?> value)
    {
        var node = value();
        if (ReferenceEquals(node, Removed)) target.Remove(field);
        else target[field] = node;
        return target;
    }

    private static JsonObject SetInner(JsonObject target, string parent, string field, Func<JsonNode?> value)
    {
        if (target[parent] is JsonObject inner) Set(inner, field, value);
        return target;
    }

    private static JsonObject MessageValue(JsonObject message) => new() { ["contacts"] = Contacts(), ["messages"] = new JsonArray(message) };

    private static JsonObject StatusValue(JsonObject status) => new() { ["statuses"] = new JsonArray(status) };

    private static JsonObject ErrorsValue(JsonObject error) => new() { ["errors"] = new JsonArray(error) };

    /// <summary>One delivery: entry[].changes[].value with messaging_product and metadata, then the content's fields.</summary>
    public static string Delivery(string phoneNumberId, string entryId, JsonObject content)
    {
        var value = new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["metadata"] = new JsonObject { ["display_phone_number"] = "15550100", ["phone_number_id"] = phoneNumberId },
        };
        foreach (var (key, node) in content.ToList())
        {
            content.Remove(key);
            value[key] = node;
        }
        return new JsonObject
        {
            ["object"] = "whatsapp_business_account",
            ["entry"] = new JsonArray(new JsonObject
            {
                ["id"] = entryId,
                ["changes"] = new JsonArray(new JsonObject { ["value"] = value, ["field"] = "messages" }),
            }),
        }.ToJsonString();
    }
}
