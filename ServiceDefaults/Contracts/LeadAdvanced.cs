namespace Funnels.Contracts;

/// <summary>An existing lead moved to another page or status of its funnel (Runtime.Api, through its outbox).</summary>
public sealed record LeadAdvanced(
    Guid LeadId,
    Guid WorkspaceId,
    Guid FunnelId,
    string? FromPageId,
    string ToPageId,
    string Status,
    long StateVersion,
    DateTimeOffset AdvancedAt);
