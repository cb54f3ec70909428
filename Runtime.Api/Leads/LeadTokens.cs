using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Funnels.ServiceDefaults.Security;

namespace Funnels.Runtime.Leads;

/// <summary>
/// The capability a funnel frontend gets in the 202 of the events endpoint: it reads one lead's
/// state (page, status, time), never its form data, until it expires. A token is
/// <c>base64url(version · lead id · expiry in Unix seconds · HMAC-SHA256 of the three)</c>; the key is
/// derived from <c>Auth:SigningKey</c> with HKDF for this purpose alone, so a lead token is never
/// an admin token (nor the other way round), and rotating the signing key revokes both.
/// </summary>
public sealed class LeadTokens(AuthSettings auth, LeadTokenSettings settings, TimeProvider clock)
{
    private const byte Version = 1;
    private const int PayloadLength = 1 + 16 + 8;
    private const int MacLength = 32;

    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(auth.Key), 32,
        salt: [], info: Encoding.ASCII.GetBytes("funnels/lead-token/v1"));

    public TimeSpan Lifetime => settings.TokenLifetime;

    public string Issue(Guid leadId) => Issue(leadId, clock.GetUtcNow().Add(settings.TokenLifetime));

    public string Issue(Guid leadId, DateTimeOffset expiresAt)
    {
        Span<byte> token = stackalloc byte[PayloadLength + MacLength];
        token[0] = Version;
        leadId.TryWriteBytes(token.Slice(1, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(token.Slice(17, 8), expiresAt.ToUnixTimeSeconds());
        HMACSHA256.HashData(_key, token[..PayloadLength], token[PayloadLength..]);
        return Base64Url.EncodeToString(token);
    }

    /// <summary>True when the token is intact, unexpired and names <paramref name="leadId"/>.</summary>
    public bool Grants(string? token, Guid leadId)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[96];
        int length;
        try
        {
            if (!Base64Url.TryDecodeFromChars(token, bytes, out length))
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false; // the Try method throws for characters outside base64url
        }
        if (length != PayloadLength + MacLength || bytes[0] != Version)
        {
            return false;
        }
        Span<byte> expected = stackalloc byte[MacLength];
        HMACSHA256.HashData(_key, bytes[..PayloadLength], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes.Slice(PayloadLength, MacLength)))
        {
            return false;
        }
        var lead = new Guid(bytes.Slice(1, 16), bigEndian: true);
        var expires = BinaryPrimitives.ReadInt64BigEndian(bytes.Slice(17, 8));
        return lead == leadId && clock.GetUtcNow().ToUnixTimeSeconds() < expires;
    }
}

/// <summary>"Leads" configuration section.</summary>
public sealed class LeadTokenSettings
{
    /// <summary>How long a lead token of the events endpoint's 202 reads the lead's state (default 24 h).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(24);
}
