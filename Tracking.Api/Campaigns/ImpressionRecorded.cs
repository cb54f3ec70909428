namespace Funnels.Tracking.Campaigns;

/// <summary>An impression or click was recorded (local to Tracking.Api, through its outbox): the stats read model counts it.</summary>
public sealed record ImpressionRecorded(Guid WorkspaceId, string ImpressionId, Guid CampaignId, Guid InfluencerId, string EventType, string Currency);
