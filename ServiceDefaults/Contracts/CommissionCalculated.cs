namespace Funnels.Contracts;

/// <summary>
/// Messaging.Worker computed a conversion's commission (capped by the campaign's remaining
/// budget) and scheduled its payout. Tracking.Api keeps "commission owed" in its read models from it.
/// </summary>
public sealed record CommissionCalculated(
    Guid WorkspaceId,
    Guid CommissionId,
    string ConversionId,
    Guid CampaignId,
    Guid InfluencerId,
    Money Amount,
    bool CappedByBudget,
    DateTimeOffset PayoutDueAt);
