using System.Text.Json;
using Funnels.Tracking.Web;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// GoHighLevel's two contact deliveries. A workflow's Webhook action posts the contact flat
/// (contact_id, email, phone, tags as "a, b", custom fields under their labels, customData with the
/// action's own keys). A marketplace app's ContactCreate / ContactUpdate event posts
/// <c>{type, locationId, id, email, phone, tags: [...], customFields: [{id, value}]}</c>, where the
/// visitor id is the custom field whose id the workspace configured. Other event types are ignored.
/// </summary>
public static class GoHighLevelAdapter
{
    private static readonly string[] Containers = ["", "customData", "custom_data", "custom_fields", "customFields"];

    public static CrmParse Parse(JsonElement root, IReadOnlyList<string> visitorFields)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return CrmParse.Unsupported(CrmAdapters.GoHighLevel, "a JSON object: a workflow webhook (contact_id, email, phone, customData) or a ContactCreate / ContactUpdate event (type, id, customFields)", root);
        }
        if (root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && root.TryGetProperty("locationId", out _))
        {
            return type.GetString() is "ContactCreate" or "ContactUpdate"
                ? Marketplace(root, visitorFields)
                : CrmParse.Of(CrmDelivery.Ignore($"a {type.GetString()} event carries no contact to link"));
        }
        if (!(root.TryGetProperty("contact_id", out _) || root.TryGetProperty("contactId", out _) || root.TryGetProperty("id", out _)))
        {
            return CrmParse.Unsupported(CrmAdapters.GoHighLevel,
                "the contact's id: contact_id in a workflow webhook, or type (ContactCreate / ContactUpdate) with id and locationId in a marketplace event", root);
        }
        return Workflow(root, visitorFields);
    }

    private static CrmParse Workflow(JsonElement root, IReadOnlyList<string> visitorFields)
    {
        var errors = new Dictionary<string, string[]>();
        var fields = new FieldReader(root, "", errors);
        var contactField = fields.Has("contact_id") ? "contact_id" : fields.Has("contactId") ? "contactId" : fields.Has("id") ? "id" : "contact_id";
        var contactId = fields.Id(contactField, required: true);
        var email = fields.Text("email", maxLength: 320)?.ToLowerInvariant();
        var phone = fields.Text("phone", maxLength: 32);
        var tags = CrmValues.Tags(fields.Raw("tags"));
        string? visitor = null;
        foreach (var field in visitorFields)
        {
            foreach (var container in Containers)
            {
                var scope = container.Length == 0 ? root : CrmValues.Property(root, container);
                if (CrmValues.Text(CrmValues.Labelled(scope, field)) is { } text)
                {
                    visitor = text;
                    break;
                }
            }
            if (visitor is { Length: > 0 }) break;
        }
        return errors.Count > 0 ? CrmParse.Invalid(errors) : CrmParse.Of(new([new CrmContact(contactId!, email, phone, visitor, tags)], 0));
    }

    private static CrmParse Marketplace(JsonElement root, IReadOnlyList<string> visitorFields)
    {
        var errors = new Dictionary<string, string[]>();
        var fields = new FieldReader(root, "", errors);
        var contactId = fields.Id("id", required: true);
        var email = fields.Text("email", maxLength: 320)?.ToLowerInvariant();
        var phone = fields.Text("phone", maxLength: 32);
        var tags = CrmValues.Tags(fields.Raw("tags"));
        var custom = fields.Raw("customFields");
        if (custom.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Array))
        {
            errors["customFields"] = ["must be GoHighLevel's list of custom fields: [{\"id\": ..., \"value\": ...}]"];
        }
        string? visitor = null;
        if (custom.ValueKind == JsonValueKind.Array)
        {
            // The workspace's visitor field is the custom field's id here (a marketplace event has no labels).
            visitor = visitorFields.Select(field => custom.EnumerateArray()
                    .Where(f => CrmValues.Property(f, "id") is { ValueKind: JsonValueKind.String } id && id.GetString() == field)
                    .Select(f => CrmValues.Text(CrmValues.Property(f, "value")) ?? "")
                    .FirstOrDefault())
                .FirstOrDefault(v => v is not null);
        }
        return errors.Count > 0 ? CrmParse.Invalid(errors) : CrmParse.Of(new([new CrmContact(contactId!, email, phone, visitor, tags)], 0));
    }
}
