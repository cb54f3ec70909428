using Refit;

namespace Funnels.Admin.Api;

/// <summary>Messaging.Worker's admin API (service discovery name "messaging-worker").</summary>
public interface IMessagingApi
{
    [Get("/api/messaging/webhooks")]
    Task<List<Webhook>> WebhooksAsync(CancellationToken ct = default);

    [Post("/api/messaging/webhooks")]
    Task<IApiResponse<Webhook>> CreateWebhookAsync([Body] WebhookRequest request, CancellationToken ct = default);

    [Delete("/api/messaging/webhooks/{id}")]
    Task DeleteWebhookAsync(Guid id, CancellationToken ct = default);

    [Post("/api/messaging/webhooks/{id}/rotate-secret")]
    Task<Webhook> RotateSecretAsync(Guid id, CancellationToken ct = default);

    [Get("/api/messaging/webhooks/{id}/deliveries")]
    Task<PagedList<WebhookDelivery>> DeliveriesAsync(Guid id, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/messaging/commissions")]
    Task<PagedList<Commission>> CommissionsAsync([AliasAs("campaign_id")] Guid? campaignId, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);

    [Get("/api/messaging/campaigns/{id}/budget")]
    Task<CampaignBudget> CampaignBudgetAsync(Guid id, CancellationToken ct = default);

    [Get("/api/messaging/payouts")]
    Task<PagedList<Payout>> PayoutsAsync(string? state, int page, [AliasAs("page_size")] int pageSize, CancellationToken ct = default);
}

/// <summary>The worker's figures of a campaign's budget; all null before its first commission (nothing committed yet).</summary>
public sealed record CampaignBudget(Guid CampaignId, Money? Budget, Money? Committed, Money? Paid, Money? Remaining);

public sealed record WebhookRequest(string Url, List<string> Events, bool Active = true);

public sealed record Webhook(Guid Id, string Url, List<string> Events, bool Active, DateTime CreatedAt, string? Secret);

public sealed record DeliveryAttempt(int Attempt, int? StatusCode, string? Error, int DurationMs, DateTime AttemptedAt);

public sealed record WebhookDelivery(Guid Id, string EventType, string EventKey, string Status, int Attempts, DateTime CreatedAt, DateTime? DeliveredAt, List<DeliveryAttempt> AttemptLog);

public static class PayoutStates
{
    public static readonly string[] All = ["pending", "scheduled", "paid", "nothing_due", "cancelled", "reversed"];
}

public sealed record Payout(Guid Id, Guid CommissionId, Money Amount, string State, DateTime DueAt, DateTime? ScheduledAt, DateTime? PaidAt, DateTime? ReversedAt,
    Guid? CampaignId = null, Guid? InfluencerId = null);

/// <summary>Kind "conversion" (one conversion's commission) or "traffic" (a period's clicks or impressions: no conversion).</summary>
public sealed record Commission(
    Guid Id, string? ConversionId, Guid CampaignId, Guid InfluencerId, string? RuleKind, Money ConversionValue, Money Computed, Money Amount,
    bool CappedByBudget, string State, DateTime CreatedAt, Payout Payout, string Kind = "conversion", long? Events = null, DateTime? PeriodEndsAt = null)
{
    public bool IsTraffic => Kind == "traffic";
}
