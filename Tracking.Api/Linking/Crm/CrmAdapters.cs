using System.Text.Json;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>The CRMs whose contact webhooks link visitors, and how each may authenticate (docs/crm-webhooks.md).</summary>
public static class CrmAdapters
{
    public const string GoHighLevel = "gohighlevel";
    public const string HubSpot = "hubspot";
    public const string Pipedrive = "pipedrive";
    public const string Generic = "generic";

    public static readonly string[] All = [GoHighLevel, HubSpot, Pipedrive, Generic];

    /// <summary>Authentication modes per adapter: what the CRM's sender can do (HubSpot signs, Pipedrive offers basic auth).</summary>
    public static string[] AuthModes(string adapter) => adapter switch
    {
        HubSpot => [CrmAuth.HubSpotV3, CrmAuth.PathToken],
        Pipedrive => [CrmAuth.Basic, CrmAuth.PathToken],
        _ => [CrmAuth.Hmac, CrmAuth.Token, CrmAuth.Basic, CrmAuth.PathToken],
    };

    public static string Title(string adapter) => adapter switch
    {
        GoHighLevel => "GoHighLevel",
        HubSpot => "HubSpot",
        Pipedrive => "Pipedrive",
        _ => "generic JSON",
    };

    public static CrmParse Parse(string adapter, JsonElement root, CrmAdapterSettings settings, string workspaceVisitorField) => adapter switch
    {
        GoHighLevel => GoHighLevelAdapter.Parse(root, [.. new[] { settings.VisitorField, workspaceVisitorField }.OfType<string>().Distinct()]),
        HubSpot => HubSpotAdapter.Parse(root, settings.VisitorField ?? workspaceVisitorField),
        Pipedrive => PipedriveAdapter.Parse(root, settings.VisitorField ?? workspaceVisitorField),
        _ => GenericJsonAdapter.Parse(root, settings.Paths),
    };

    /// <summary>A hint for a body sent to the wrong adapter's address.</summary>
    public static string LooksLike(string adapter, JsonElement root)
    {
        var guess = root.ValueKind == JsonValueKind.Array ? HubSpot
            : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("meta", out _) && root.TryGetProperty("data", out _) ? Pipedrive
            : root.ValueKind == JsonValueKind.Object && (root.TryGetProperty("contact_id", out _) || root.TryGetProperty("locationId", out _)) ? GoHighLevel
            : null;
        return guess is null || guess == adapter ? "" : $" The body looks like a {Title(guess)} delivery: send it to /api/tracking/crm/{guess}/... instead.";
    }
}
