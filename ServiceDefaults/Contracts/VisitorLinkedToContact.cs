namespace Funnels.Contracts;

/// <summary>
/// Tracking.Api linked a browser's visitor id to a CRM contact (through its outbox). Runtime.Api
/// joins the visitor's lead of the same workspace to the contact; nobody queries across services.
/// A link is published again when a signed CRM webhook replaces a provisional (identify) link:
/// <see cref="Generation"/> grows by one and <see cref="ReplacedContactId"/> names the contact it
/// replaced, so a consumer applies only the newest generation, whatever the delivery order.
/// </summary>
public sealed record VisitorLinkedToContact(
    Guid WorkspaceId,
    string VisitorId,
    string ContactId,
    string Method,
    DateTimeOffset LinkedAt,
    int Generation = 1,
    string? ReplacedContactId = null);
