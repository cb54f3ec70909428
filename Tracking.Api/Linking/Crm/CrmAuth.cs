using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Funnels.ServiceDefaults.Security;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// How a CRM's deliveries prove they come from the workspace's CRM. hmac: <c>X-Funnels-Signature:
/// sha256=hex</c>, an HMAC-SHA256 of the body with the secret. token: the secret in
/// <c>X-Funnels-Token</c> (or <c>Authorization: Bearer</c>). basic: HTTP basic auth (Pipedrive's
/// webhook settings offer it). path_token: a long random token in the URL, for senders that can
/// set neither headers nor signatures. hubspot_v3: HubSpot's <c>X-HubSpot-Signature-v3</c>.
/// legacy: the workspace's CRM secret of the first GoHighLevel webhook, signed or as the token.
/// </summary>
public static class CrmAuth
{
    public const string Hmac = "hmac";
    public const string Token = "token";
    public const string Basic = "basic";
    public const string PathToken = "path_token";
    public const string HubSpotV3 = "hubspot_v3";
    public const string Legacy = "legacy";

    public const string SignatureHeader = "X-Funnels-Signature";
    public const string TokenHeader = "X-Funnels-Token";
    public const string HubSpotSignatureHeader = "X-HubSpot-Signature-v3";
    public const string HubSpotTimestampHeader = "X-HubSpot-Request-Timestamp";

    /// <summary>HubSpot's rule: refuse a request whose timestamp is older than five minutes (a replay).</summary>
    public static readonly TimeSpan HubSpotMaxAge = TimeSpan.FromMinutes(5);

    public static string NewPathToken() => "crmt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string NewSecret() => "crm_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string HashOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Null when the delivery is authentic, else why not (the 401's detail: what this adapter expected).</summary>
    public static string? Refusal(
        HttpRequest request, byte[] body, CrmAdapterSettings settings, bool byPathToken, string? legacySecret, SecretProtector secrets, DateTimeOffset now)
    {
        if (byPathToken)
        {
            return settings.Auth == PathToken ? null : $"The {settings.Adapter} adapter of this workspace does not authenticate by URL token.";
        }
        var secret = settings.SecretProtected is null ? null
            : secrets.Unprotect(settings.SecretProtected, CrmAdapterSettings.Purpose(settings.WorkspaceId, settings.Adapter));
        // The first GoHighLevel URL keeps working with the workspace's CRM secret whatever else is configured.
        if (legacySecret is not null && settings.Adapter == CrmAdapters.GoHighLevel && (SignedBy(request, body, legacySecret) || TokenIs(request, legacySecret)))
        {
            return null;
        }
        return settings.Auth switch
        {
            Hmac => secret is not null && SignedBy(request, body, secret) ? null
                : $"Sign the body with the {settings.Adapter} adapter's secret: {SignatureHeader}: sha256=<hex HMAC-SHA256 of the body>.",
            Token => secret is not null && TokenIs(request, secret) ? null
                : $"Send the {settings.Adapter} adapter's token in {TokenHeader} (or Authorization: Bearer <token>).",
            Basic => secret is not null && BasicIs(request, settings.BasicUsername ?? "", secret) ? null
                : $"Authenticate with HTTP basic auth: the user name and password set for the {settings.Adapter} adapter in tracking settings.",
            HubSpotV3 => secret is null ? "The hubspot adapter has no app secret." : HubSpotRefusal(request, body, secret, now),
            PathToken => $"The {settings.Adapter} adapter of this workspace authenticates with its URL token: post to the address shown when it was configured.",
            Legacy => legacySecret is null
                ? "This workspace has no CRM secret: an owner creates one (or configures the adapter) in tracking settings."
                : $"Sign the body with the workspace's CRM secret ({SignatureHeader}: sha256=<hex HMAC>) or send it as {TokenHeader}.",
            _ => "This adapter's authentication is not known.",
        };
    }

    private static bool SignedBy(HttpRequest request, byte[] body, string secret)
    {
        var signature = request.Headers[SignatureHeader].ToString();
        if (!signature.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase)) return false;
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature[7..].Trim().ToLowerInvariant()));
    }

    private static bool TokenIs(HttpRequest request, string secret)
    {
        var token = request.Headers[TokenHeader].ToString();
        if (token.Length == 0 && request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = auth[7..].Trim();
        }
        return token.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(token));
    }

    private static bool BasicIs(HttpRequest request, string username, string password)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = Encoding.UTF8.GetBytes($"{username}:{password}");
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(decoded));
    }

    /// <summary>
    /// HubSpot's v3 signature: base64 of HMAC-SHA256, keyed with the app's client secret, over
    /// method + URI + body + timestamp, where the URI is the full address HubSpot called (scheme,
    /// host, path, query) with the characters HubSpot decodes decoded.
    /// </summary>
    private static string? HubSpotRefusal(HttpRequest request, byte[] body, string secret, DateTimeOffset now)
    {
        var signature = request.Headers[HubSpotSignatureHeader].ToString();
        var timestamp = request.Headers[HubSpotTimestampHeader].ToString();
        if (signature.Length == 0 || timestamp.Length == 0)
        {
            return $"HubSpot deliveries carry {HubSpotSignatureHeader} and {HubSpotTimestampHeader}: this request has {(signature.Length == 0 ? "no signature" : "no timestamp")}.";
        }
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return $"{HubSpotTimestampHeader} must be milliseconds since 1970.";
        }
        var age = now - DateTimeOffset.FromUnixTimeMilliseconds(ms);
        if (age > HubSpotMaxAge || age < -HubSpotMaxAge)
        {
            return $"{HubSpotTimestampHeader} is more than 5 minutes from now: HubSpot's rule refuses it as a replay.";
        }
        var uri = HubSpotUri($"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}");
        var source = Encoding.UTF8.GetBytes(request.Method + uri).Concat(body).Concat(Encoding.UTF8.GetBytes(timestamp)).ToArray();
        var expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), source)));
        var sent = signature.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) ? signature[7..] : signature;
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(sent.Trim()))
            ? null
            : $"{HubSpotSignatureHeader} does not match: sign with the HubSpot app's client secret (the one saved for the hubspot adapter).";
    }

    // The URL-encoded characters HubSpot's documentation says to decode before signing.
    private static readonly (string Encoded, string Plain)[] HubSpotDecoded =
    [
        ("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"), ("%27", "'"),
        ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";"),
    ];

    public static string HubSpotUri(string uri)
    {
        foreach (var (encoded, plain) in HubSpotDecoded)
        {
            uri = uri.Replace(encoded, plain, StringComparison.OrdinalIgnoreCase);
        }
        return uri;
    }
}
