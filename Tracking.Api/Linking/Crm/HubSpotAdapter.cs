using System.Text.Json;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// HubSpot's webhooks: a JSON array of up to 100 events, each with <c>objectId</c> (the contact),
/// <c>subscriptionType</c>, <c>occurredAt</c> (epoch milliseconds) and, for property changes,
/// <c>propertyName</c> / <c>propertyValue</c>. contact.creation and object.creation (objectTypeId 0-1)
/// upsert the contact; a property change of the workspace's visitor property links it; email and
/// phone changes update it. Other subscriptions (deals, companies, deletions) are ignored.
/// </summary>
public static class HubSpotAdapter
{
    private const string ContactObjectType = "0-1";

    public static CrmParse Parse(JsonElement root, string visitorProperty)
    {
        const string expected = "a JSON array of HubSpot webhook events, each with objectId, subscriptionType (contact.creation, contact.propertyChange, object.creation ...) and occurredAt";
        if (root.ValueKind != JsonValueKind.Array)
        {
            return CrmParse.Unsupported(CrmAdapters.HubSpot, expected, root);
        }
        var errors = new Dictionary<string, string[]>();
        var contacts = new List<CrmContact>();
        var ignored = 0;
        var i = 0;
        foreach (var item in root.EnumerateArray())
        {
            var path = $"[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors[path] = ["must be a HubSpot webhook event (an object with objectId and subscriptionType)"];
                continue;
            }
            var objectId = CrmValues.Property(item, "objectId");
            var id = objectId.ValueKind == JsonValueKind.Number && objectId.TryGetInt64(out var n) && n > 0 ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : objectId.ValueKind == JsonValueKind.String && objectId.GetString() is { Length: > 0 and <= 32 } s && s.All(char.IsAsciiDigit) ? s
                : null;
            if (id is null)
            {
                errors[path + ".objectId"] = ["is required: HubSpot's numeric id of the object the event is about"];
            }
            var subscription = CrmValues.Property(item, "subscriptionType");
            if (subscription.ValueKind != JsonValueKind.String)
            {
                errors[path + ".subscriptionType"] = ["is required: the event's subscription type, such as contact.creation or contact.propertyChange"];
            }
            var occurredAt = CrmValues.Property(item, "occurredAt");
            if (occurredAt.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) && !(occurredAt.ValueKind == JsonValueKind.Number && occurredAt.TryGetInt64(out _)))
            {
                errors[path + ".occurredAt"] = ["must be milliseconds since 1970"];
            }
            if (id is null || subscription.ValueKind != JsonValueKind.String)
            {
                continue;
            }
            var objectType = CrmValues.Property(item, "objectTypeId");
            var isContact = objectType.ValueKind != JsonValueKind.String || objectType.GetString() == ContactObjectType;
            switch (subscription.GetString())
            {
                case "contact.creation":
                case "object.creation" when isContact:
                    contacts.Add(new CrmContact(id, null, null, null));
                    break;
                case "contact.propertyChange":
                case "object.propertyChange" when isContact:
                    var name = CrmValues.Property(item, "propertyName");
                    var value = CrmValues.Text(CrmValues.Property(item, "propertyValue"));
                    var property = name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
                    contacts.Add(property == visitorProperty ? new CrmContact(id, null, null, value ?? "")
                        : property == "email" ? new CrmContact(id, value is { Length: > 0 and <= 320 } ? value.ToLowerInvariant() : null, null, null)
                        : property is "phone" or "mobilephone" ? new CrmContact(id, null, value is { Length: > 0 and <= 32 } ? value : null, null)
                        : new CrmContact(id, null, null, null));
                    break;
                default:
                    ignored++;
                    break;
            }
        }
        if (errors.Count > 0)
        {
            return CrmParse.Invalid(errors);
        }
        return i == 0 ? CrmParse.Unsupported(CrmAdapters.HubSpot, expected + " (this array is empty)", root) : CrmParse.Of(new(contacts, ignored));
    }
}
