using System.Security.Cryptography;
using System.Text;

namespace Funnels.Messaging.Webhooks;

/// <summary>
/// How receivers check a delivery: HMAC-SHA256 over "{timestamp}.{body}" with the endpoint's
/// secret, hex-encoded, sent as "X-Funnels-Signature: sha256=…" beside "X-Funnels-Timestamp"
/// (Unix seconds). Signing the timestamp lets receivers refuse old replays.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Funnels-Signature";
    public const string TimestampHeader = "X-Funnels-Timestamp";
    public const string EventHeader = "X-Funnels-Event";
    public const string DeliveryHeader = "X-Funnels-Delivery";

    public static string Sign(string secret, long timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    public static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}
