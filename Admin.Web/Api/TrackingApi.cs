using Refit;

namespace Funnels.Admin.Api;

/// <summary>Tracking.Api's admin endpoints (service discovery name "tracking-api"): linking, settings, campaigns and their statistics.</summary>
public interface ITrackingApi
{
    [Get("/api/tracking/linking/stats")]
    Task<LinkingStats> LinkingStatsAsync(CancellationToken ct = default);

    [Get("/api/tracking/linking/conflicts")]
    Task<PagedList<LinkConflict>> ConflictsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/visitors/{visitorId}/sessions")]
    Task<PagedList<TrackedSession>> SessionsAsync(string visitorId, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/settings")]
    Task<TrackingSettings> SettingsAsync(CancellationToken ct = default);

    [Put("/api/tracking/settings")]
    Task<IApiResponse<TrackingSettings>> SaveSettingsAsync([Body] TrackingSettingsRequest request, CancellationToken ct = default);

    [Post("/api/tracking/settings/crm-secret")]
    Task<IApiResponse<CrmSecret>> RotateCrmSecretAsync(CancellationToken ct = default);

    [Post("/api/tracking/settings/attribution-key")]
    Task<AttributionKey> RotateAttributionKeyAsync(CancellationToken ct = default);

    [Get("/api/tracking/settings/crm")]
    Task<List<CrmAdapter>> CrmAdaptersAsync(CancellationToken ct = default);

    [Put("/api/tracking/settings/crm/{adapter}")]
    Task<IApiResponse<CrmAdapterConfigured>> ConfigureCrmAdapterAsync(string adapter, [Body] CrmAdapterRequest request, CancellationToken ct = default);

    [Delete("/api/tracking/settings/crm/{adapter}")]
    Task<IApiResponse> DeleteCrmAdapterAsync(string adapter, CancellationToken ct = default);

    [Get("/api/tracking/campaigns")]
    Task<PagedList<Campaign>> CampaignsAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/campaigns/{id}")]
    Task<Campaign> CampaignAsync(Guid id, CancellationToken ct = default);

    [Post("/api/tracking/campaigns")]
    Task<IApiResponse<Campaign>> CreateCampaignAsync([Body] CampaignRequest request, CancellationToken ct = default);

    [Put("/api/tracking/campaigns/{id}/external-key")]
    Task<IApiResponse<Campaign>> SetCampaignKeyAsync(Guid id, [Body] ExternalKeyRequest request, CancellationToken ct = default);

    [Put("/api/tracking/influencers/{id}/external-key")]
    Task<IApiResponse<Influencer>> SetInfluencerKeyAsync(Guid id, [Body] ExternalKeyRequest request, CancellationToken ct = default);

    [Get("/api/tracking/influencers")]
    Task<PagedList<Influencer>> InfluencersAsync(int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Post("/api/tracking/influencers")]
    Task<IApiResponse<Influencer>> CreateInfluencerAsync([Body] InfluencerRequest request, CancellationToken ct = default);

    [Get("/api/tracking/campaigns/{id}/rules")]
    Task<PagedList<CommissionRule>> RulesAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Post("/api/tracking/campaigns/{id}/rules")]
    Task<IApiResponse<CommissionRule>> CreateRuleAsync(Guid id, [Body] RuleRequest request, CancellationToken ct = default);

    [Get("/api/tracking/campaigns/{id}/stats")]
    Task<CampaignStatsView> CampaignStatsAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/campaigns/{id}/conversions")]
    Task<PagedList<Conversion>> CampaignConversionsAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/influencers/{id}/stats")]
    Task<PagedList<CampaignStats>> InfluencerStatsAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/tracking/influencers/{id}/conversions")]
    Task<PagedList<Conversion>> InfluencerConversionsAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);
}

public sealed record MethodFigures(string Method, long Links, double? MedianSeconds, double? P95Seconds);

public sealed record LinkingStats(long Contacts, long ContactsWithSessions, decimal LinkRate, long LinkedVisitors, long Confirmations, long Conflicts, List<MethodFigures> ByMethod);

public sealed record LinkConflict(Guid Id, string VisitorId, string LinkedContactId, string AttemptedContactId, string Method, DateTime OccurredAt);

public sealed record TrackedSession(
    string Id, string VisitorId, DateTime StartedAt, DateTime LastSeenAt, int Events, string? LandingUrl, string? UtmSource, string? UtmCampaign,
    string? Ref, Guid? CampaignId, Guid? InfluencerId, string? ContactId, DateTime? LinkedAt, string? LinkMethod);

public sealed record TrackingSettings(
    string VisitorField, string StorageKey, bool HasCrmSecret, string CrmWebhookPath, string ScriptSnippet, bool HasAttributionKey, bool AttributionKeyRequired);

public sealed record TrackingSettingsRequest(string? VisitorField, string? StorageKey);

public sealed record CrmSecret(string Secret);

public sealed record AttributionKey(string Key, string Header);

public sealed record CrmPaths(string? ContactId, string? Email, string? Phone, string? VisitorId);

public sealed record CrmAdapter(
    string Adapter, string Title, List<string> AuthModes, bool Configured, string? Auth, string? Username, string? VisitorField, CrmPaths? Paths,
    string? Address, DateTime? UpdatedAt);

public sealed record CrmAdapterRequest(string? Auth, string? Secret, string? Username, string? VisitorField, CrmPaths? Paths);

public sealed record CrmAdapterConfigured(string Adapter, string Auth, string Address, string? Secret, string? Username, string? VisitorField, string Sends);

public static class CampaignStatuses
{
    public static readonly string[] All = ["active", "draft", "paused", "ended"];
}

public sealed record Campaign(
    Guid Id, string Name, string? Product, string? Brand, Money Budget, DateTime? StartsAt, DateTime? EndsAt, string Status, int RefundWindowSeconds, DateTime CreatedAt,
    string? ExternalKey = null);

public sealed record MoneyInput(decimal? Amount, string? Currency);

public sealed record CampaignRequest(
    string? Name, string? Product, string? Brand, MoneyInput? Budget, DateTime? StartsAt, DateTime? EndsAt, string? Status, int? RefundWindowSeconds,
    string? ExternalKey = null);

public sealed record Influencer(Guid Id, string Name, string? Handle, DateTime CreatedAt, string? ExternalKey = null);

public sealed record InfluencerRequest(string? Name, string? Handle, string? ExternalKey = null);

/// <summary>The key attribution clients already name a campaign or influencer by (cmp-123); null clears it.</summary>
public sealed record ExternalKeyRequest(string? ExternalKey);

public static class RuleKinds
{
    public static readonly string[] All = ["per_conversion_percent", "per_conversion_fixed", "per_click", "per_mille_impressions"];
}

public sealed record CommissionRule(Guid Id, Guid CampaignId, Guid? InfluencerId, string Kind, Money? Amount, decimal? Percent)
{
    public string Terms => Percent is { } p ? $"{p.ToString(global::System.Globalization.CultureInfo.InvariantCulture)} % of the conversion value" : $"{Amount} {Kind switch
    {
        "per_click" => "per click",
        "per_mille_impressions" => "per 1,000 impressions",
        _ => "per conversion",
    }}";
}

public sealed record RuleRequest(Guid? InfluencerId, string? Kind, decimal? Amount, decimal? Percent);

/// <summary>Each rate named for what it divides; null without clicks (or impressions).</summary>
public sealed record CampaignStats(
    Guid CampaignId, Guid? InfluencerId, long Impressions, long Clicks, long Conversions, long Refunds, decimal? ConversionsPerClick,
    decimal? ConversionsPerImpression, Money Revenue, Money CommissionOwed)
{
    public static string Rate(decimal? rate) => rate is { } r ? r.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "–";
}

public sealed record CampaignStatsView(CampaignStats Totals, PagedList<CampaignStats> Influencers);

public sealed record Conversion(
    string Id, Guid CampaignId, Guid InfluencerId, string? VisitorId, string? UserId, string ConversionType, Money Value,
    string AttributedBy, DateTime OccurredAt, DateTime? RefundedAt);
