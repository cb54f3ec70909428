namespace Funnels.Contracts;

/// <summary>
/// Messaging.Worker computed a conversion's commission (capped by the campaign's remaining
/// budget) and scheduled its payout. Tracking.Api keeps "commission owed" in its read models from it.
/// Amount is in the currency's minor unit and is a change to add: a conversion's commission
/// (CommissionId is the commission's), a traffic accrual's newly reserved minor units, or the
/// difference when a conversion is re-drawn after an earlier-recorded one (may be negative); the
/// last two come under an id of their own (CommissionId is then the report's id, counted once).
/// ConversionId is the conversion's id, or the click's or impression's event id for traffic.
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
