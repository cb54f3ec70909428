using System.Text.Json;
using System.Text.Json.Serialization;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>Where the generic adapter finds each value in a workspace's CRM body (JsonPaths); contact_id is required.</summary>
public sealed record GenericPaths(
    [property: JsonPropertyName("contact_id")] string? ContactId,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("phone")] string? Phone,
    [property: JsonPropertyName("visitor_id")] string? VisitorId)
{
    /// <summary>Errors keyed by field (paths.contact_id ...), empty when every path given is one and contact_id is there.</summary>
    public Dictionary<string, string[]> Check()
    {
        var errors = new Dictionary<string, string[]>();
        if (ContactId is null) errors["paths.contact_id"] = ["is required: where the contact's id is, e.g. $.contact.id"];
        foreach (var (name, path) in new[] { ("contact_id", ContactId), ("email", Email), ("phone", Phone), ("visitor_id", VisitorId) })
        {
            if (path is not null && JsonPaths.Steps(path) is null) errors["paths." + name] = [JsonPaths.Rule];
        }
        return errors;
    }
}

/// <summary>Any CRM that posts one contact as JSON: its id, email, phone and visitor id are read at the paths the workspace configured.</summary>
public static class GenericJsonAdapter
{
    public static CrmParse Parse(JsonElement root, GenericPaths? paths)
    {
        if (paths is null || JsonPaths.Steps(paths.ContactId) is not { } contactSteps)
        {
            return CrmParse.Invalid(new() { ["body"] = ["cannot be read: the generic adapter has no JSON paths configured (tracking settings, PUT /api/tracking/settings/crm/generic)"] });
        }
        var id = CrmValues.Text(JsonPaths.Select(root, contactSteps));
        if (id is not { Length: > 0 } || !Web.Ids.IsValid(id))
        {
            return CrmParse.Invalid(new()
            {
                [paths.ContactId!] = [$"the generic adapter expects the contact's id here (1-128 letters, digits, '-', '_', '.' or ':'), as configured in tracking settings; found {(id is null ? "nothing" : "something else")}"],
            });
        }
        string? At(string? path, int maxLength) =>
            JsonPaths.Steps(path) is { } steps && CrmValues.Text(JsonPaths.Select(root, steps)) is { Length: > 0 } value && value.Length <= maxLength ? value : null;
        var visitor = JsonPaths.Steps(paths.VisitorId) is { } visitorSteps ? CrmValues.Text(JsonPaths.Select(root, visitorSteps)) : null;
        return CrmParse.Of(new([new CrmContact(id, At(paths.Email, 320)?.ToLowerInvariant(), At(paths.Phone, 32), visitor)], 0));
    }
}
