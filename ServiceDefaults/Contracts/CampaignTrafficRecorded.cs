namespace Funnels.Contracts;

/// <summary>
/// Tracking.Api recorded an impression or click (EventType "impression" or "click") for a
/// campaign and influencer that a per_mille_impressions or per_click rule pays (through its
/// outbox, in the transaction that recorded the event). It carries the rule's terms and the
/// campaign's budget, so Messaging.Worker accrues the commission without querying Tracking.Api.
/// </summary>
public sealed record CampaignTrafficRecorded(
    Guid WorkspaceId,
    string EventId,
    Guid CampaignId,
    Guid InfluencerId,
    string EventType,
    Money CampaignBudget,
    CommissionTerms Commission,
    DateTimeOffset OccurredAt);
