namespace Funnels.Contracts;

/// <summary>A recorded conversion was refunded (Tracking.Api, through its outbox): its commission is cancelled or reversed.</summary>
public sealed record ConversionRefunded(
    Guid WorkspaceId,
    string ConversionId,
    Guid CampaignId,
    DateTimeOffset RefundedAt);
