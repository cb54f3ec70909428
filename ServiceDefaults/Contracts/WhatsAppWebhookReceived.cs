namespace Funnels.Contracts;

/// <summary>
/// A verified WhatsApp Cloud API webhook delivery (Runtime.Api, through its outbox), exactly as
/// Meta sent it. <paramref name="Channels"/> maps each phone-number id named in the payload to
/// the workspace that owns it; a channel nobody claimed is absent and its changes are ignored.
/// Meta retries deliveries, so the same message (wamid) may arrive in several of these.
/// </summary>
public sealed record WhatsAppWebhookReceived(
    Guid EventId,
    string Payload,
    IReadOnlyList<WhatsAppChannel> Channels,
    DateTimeOffset ReceivedAt);

/// <summary>A WhatsApp business phone number (Meta's phone-number id) and its workspace: part of a message, not one.</summary>
public readonly record struct WhatsAppChannel(string PhoneNumberId, Guid WorkspaceId);
