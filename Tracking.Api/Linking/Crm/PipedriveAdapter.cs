using System.Text.Json;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// Pipedrive's webhooks v2: <c>{data, previous, meta}</c>, with <c>meta.entity</c> "person",
/// <c>meta.action</c> create / change / delete and <c>meta.entity_id</c> the person's id as a string.
/// The person's emails and phones are lists of <c>{label, value, primary}</c>; custom fields are in
/// <c>data.custom_fields</c> under their 40-character keys, as a value or <c>{type, value}</c>. The
/// visitor field is that key. Other entities and deletions are ignored.
/// </summary>
public static class PipedriveAdapter
{
    public static CrmParse Parse(JsonElement root, string visitorKey)
    {
        var meta = CrmValues.Property(root, "meta");
        if (root.ValueKind != JsonValueKind.Object || meta.ValueKind != JsonValueKind.Object)
        {
            return CrmParse.Unsupported(CrmAdapters.Pipedrive, "Pipedrive's webhooks v2 body: an object with meta (entity, entity_id, action) and data (the person)", root);
        }
        if (CrmValues.Property(root, "current").ValueKind != JsonValueKind.Undefined && CrmValues.Property(root, "data").ValueKind == JsonValueKind.Undefined)
        {
            return CrmParse.Unsupported(CrmAdapters.Pipedrive, "webhooks v2 (data, previous, meta); this is a v1 body (current, previous): create the webhook with version 2.0", root);
        }
        var entity = CrmValues.Text(CrmValues.Property(meta, "entity")) ?? CrmValues.Text(CrmValues.Property(meta, "object"));
        if (entity != "person")
        {
            return CrmParse.Of(CrmDelivery.Ignore($"a {entity ?? "unnamed"} event: only persons are contacts"));
        }
        if (CrmValues.Text(CrmValues.Property(meta, "action")) is "delete" or "deleted")
        {
            return CrmParse.Of(CrmDelivery.Ignore("a deleted person: its links are kept"));
        }
        var data = CrmValues.Property(root, "data");
        var id = CrmValues.Text(CrmValues.Property(meta, "entity_id")) ?? CrmValues.Text(CrmValues.Property(data, "id"));
        if (id is not { Length: > 0 } || !Web.Ids.IsValid(id))
        {
            return CrmParse.Invalid(new() { ["meta.entity_id"] = ["is required: the person's id (meta.entity_id, or data.id)"] });
        }
        var email = Primary(CrmValues.Property(data, "emails"), 320)?.ToLowerInvariant();
        var phone = Primary(CrmValues.Property(data, "phones"), 32);
        var custom = CrmValues.Property(CrmValues.Property(data, "custom_fields"), visitorKey);
        var visitor = custom.ValueKind == JsonValueKind.Object ? CrmValues.Text(CrmValues.Property(custom, "value")) ?? "" : CrmValues.Text(custom);
        return CrmParse.Of(new([new CrmContact(id, email, phone, visitor)], 0));
    }

    /// <summary>The primary entry's value of an emails / phones list, else the first one's.</summary>
    private static string? Primary(JsonElement list, int maxLength)
    {
        if (list.ValueKind != JsonValueKind.Array) return null;
        var entries = list.EnumerateArray().Where(e => CrmValues.Text(CrmValues.Property(e, "value")) is { Length: > 0 }).ToList();
        var pick = entries.FirstOrDefault(e => CrmValues.Property(e, "primary").ValueKind == JsonValueKind.True);
        var value = CrmValues.Text(CrmValues.Property(pick.ValueKind == JsonValueKind.Object ? pick : entries.FirstOrDefault(), "value"));
        return value is { Length: > 0 } && value.Length <= maxLength ? value : null;
    }
}
