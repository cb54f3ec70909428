namespace Funnels.Contracts;

/// <summary>Messaging.Worker cancelled (before payout) or reversed (after payout) a conversion's commission.</summary>
public sealed record CommissionReversed(
    Guid WorkspaceId,
    Guid CommissionId,
    string ConversionId,
    Guid CampaignId,
    Guid InfluencerId,
    Money Amount,
    bool WasPaid,
    DateTimeOffset ReversedAt);
