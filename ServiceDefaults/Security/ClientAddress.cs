using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// The address of the person behind a request. Admin.Web calls the APIs from its own address on
/// behalf of every panel user, so it forwards the browser's address in <see cref="Header"/>, signed
/// with the secret both share ("Auth:ClientAddressKey"): <c>{address};{unix seconds};{HMAC-SHA256 hex}</c>.
/// A service trusts the header only when the signature is right and at most <see cref="MaxAge"/>
/// old; anything else (a forged or stale header, or no key configured) is ignored and the
/// connection's own address counts. A signature rather than a trusted proxy address: every
/// service and the panel share one loopback address locally, and a proxy list would have to
/// follow every deployment's network.
/// </summary>
public static class ClientAddress
{
    public const string Header = "X-Funnels-Client-Address";
    public const string KeySetting = "Auth:ClientAddressKey";
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);

    /// <summary>The header value Admin.Web sends for the browser's <paramref name="address"/>.</summary>
    public static string Sign(string key, string address, DateTimeOffset now)
    {
        var payload = $"{address};{now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
        return $"{payload};{Mac(key, payload)}";
    }

    /// <summary>The forwarded address when its signature holds, else the connection's address.</summary>
    public static string Of(HttpContext http, string? key, DateTimeOffset now) =>
        Verified(http.Request.Headers[Header].ToString(), key, now) ?? http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public static string? Verified(string header, string? key, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(key) || header.Split(';') is not [var address, var seconds, var mac]
            || !IPAddress.TryParse(address, out _)
            || !long.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var unix))
        {
            return null;
        }
        var age = now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(unix, 0, 253402300799));
        var expected = Encoding.ASCII.GetBytes(Mac(key, $"{address};{seconds}"));
        return age.Duration() <= MaxAge && CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(mac)) ? address : null;
    }

    private static string Mac(string key, string payload) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(payload)));
}
