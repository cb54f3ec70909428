namespace Funnels.Contracts;

/// <summary>
/// Tracking.Api linked a browser's visitor id to a CRM contact (through its outbox). Runtime.Api
/// joins the visitor's lead of the same workspace to the contact; nobody queries across services.
/// </summary>
public sealed record VisitorLinkedToContact(
    Guid WorkspaceId,
    string VisitorId,
    string ContactId,
    string Method,
    DateTimeOffset LinkedAt);
