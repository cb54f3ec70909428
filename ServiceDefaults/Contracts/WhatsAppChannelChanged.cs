namespace Funnels.Contracts;

/// <summary>
/// Runtime.Api, which owns WhatsApp channels, gave a phone-number id to a workspace (a claim proven
/// with the number's access token, or made by an operator), or changed it (a new token, a new
/// display number). <paramref name="AccessToken"/> is the token protected by SecretProtector (Data
/// Protection, the key ring both services share; purpose: the phone-number id; older values
/// AES-GCM under Secrets:EncryptionKey), null when the channel has
/// none (an operator's claim: sends use the install-wide WhatsApp:AccessToken). Messaging.Worker
/// keeps the latest state per number by <paramref name="ChangedAt"/>; deliveries may repeat or
/// arrive out of order.
/// </summary>
public sealed record WhatsAppChannelClaimed(string PhoneNumberId, Guid WorkspaceId, string? AccessToken, DateTimeOffset ChangedAt);

/// <summary>A workspace released its phone-number id: nothing may be sent from it in its name any more.</summary>
public sealed record WhatsAppChannelReleased(string PhoneNumberId, Guid WorkspaceId, DateTimeOffset ChangedAt);
