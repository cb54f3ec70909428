namespace Funnels.Contracts;

/// <summary>
/// Tracking.Api recorded a conversion attributed to a campaign and influencer (through its outbox).
/// It carries a snapshot of what Messaging.Worker needs to compute the commission: the
/// campaign's budget, its refund window and the commission rule that applies, so the worker
/// never queries Tracking.Api's tables. RecordedAt is Tracking.Api's clock when it recorded the
/// conversion (OccurredAt is the client's timestamp): conversions draw on the budget in that order.
/// It was added later; a message without it is ordered by OccurredAt.
/// </summary>
public sealed record ConversionRecorded(
    Guid WorkspaceId,
    string ConversionId,
    Guid CampaignId,
    Guid InfluencerId,
    string ConversionType,
    Money Value,
    Money CampaignBudget,
    TimeSpan RefundWindow,
    CommissionTerms? Commission,
    DateTimeOffset OccurredAt,
    DateTimeOffset? RecordedAt = null);
