using System.Text.Json;

namespace Funnels.Contracts;

/// <summary>A new lead was accepted (Runtime.Api, through its outbox). Starts follow-up work.</summary>
public sealed record LeadCaptured(
    Guid LeadId,
    Guid WorkspaceId,
    Guid FunnelId,
    Guid PublicationId,
    string PageId,
    string? Email,
    string? Phone,
    string? VisitorId,
    JsonElement FormData,
    DateTimeOffset CapturedAt);
