namespace Funnels.Tracking.Campaigns;

/// <summary>
/// The one table of other names attribution clients already send (Spanish ones), beside ours.
/// A body may use either name of a field; giving both with different values is refused naming
/// both (see FieldReader.CheckAliases). docs/tracking.md repeats this table: keep them in step.
/// </summary>
public static class AttributionAliases
{
    /// <summary>Our field name, and the aliases read in its place.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Fields = new Dictionary<string, string[]>
    {
        ["campaign_id"] = ["campaña_id", "campana_id"],
        ["user_id"] = ["usuario_id"],
        ["event_type"] = ["tipo_evento"],
        ["conversion_type"] = ["tipo_conversion", "tipo_conversión"],
        ["value"] = ["valor"],
        ["currency"] = ["moneda"],
    };

    /// <summary>The fields of each endpoint that have aliases: an alias of a field the endpoint does not read is an unknown field there, ignored.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Impression = Only("campaign_id", "user_id", "event_type");

    public static readonly IReadOnlyDictionary<string, string[]> Conversion = Only("campaign_id", "user_id", "conversion_type", "value", "currency");

    private static Dictionary<string, string[]> Only(params string[] names) => names.ToDictionary(n => n, n => Fields[n]);

    /// <summary>event_type values, case-insensitive: ours and the aliases clients send.</summary>
    public static readonly IReadOnlyDictionary<string, string> EventTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["impression"] = "impression",
        ["impresion"] = "impression",
        ["impresión"] = "impression",
        ["click"] = "click",
        ["clic"] = "click",
    };

    public const string EventTypeRule = "must be impression or click (or IMPRESION, IMPRESIÓN, CLICK, CLIC; any case)";
}
