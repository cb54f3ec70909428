namespace Funnels.Contracts;

/// <summary>
/// Tracking.Api recorded an impression or click (EventType "impression" or "click") for a
/// campaign and influencer that a per_mille_impressions or per_click rule pays (through its
/// outbox, in the transaction that recorded the event). It carries the rule's terms and the
/// campaign's budget, end and refund window, so Messaging.Worker accrues the commission and
/// schedules its payout without querying Tracking.Api. RecordedAt is Tracking.Api's clock when
/// it recorded the event (OccurredAt is the client's timestamp): it decides the payout period.
/// The last three were added later; a message without them is read as a campaign without an end.
/// </summary>
public sealed record CampaignTrafficRecorded(
    Guid WorkspaceId,
    string EventId,
    Guid CampaignId,
    Guid InfluencerId,
    string EventType,
    Money CampaignBudget,
    CommissionTerms Commission,
    DateTimeOffset OccurredAt,
    DateTimeOffset? CampaignEndsAt = null,
    TimeSpan? RefundWindow = null,
    DateTimeOffset? RecordedAt = null);
