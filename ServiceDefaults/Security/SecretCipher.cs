using System.Security.Cryptography;
using System.Text;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// "Secrets" configuration: the key secrets are encrypted with at rest (<see cref="EncryptionKey"/>,
/// base64 of 32 random bytes, named <see cref="EncryptionKeyId"/>), and the keys used before it
/// (<see cref="PreviousKeys"/>, id → base64 key), still accepted for decryption while old values
/// are re-encrypted.
/// </summary>
public sealed class SecretSettings
{
    public string? EncryptionKey { get; set; }
    public string EncryptionKeyId { get; set; } = "k1";
    public Dictionary<string, string>? PreviousKeys { get; set; }
}

/// <summary>
/// AES-256-GCM under a named key (Secrets:EncryptionKey, its id Secrets:EncryptionKeyId):
/// <c>{key id}:{base64(nonce | tag | ciphertext)}</c>. The key id prefix names the key, so a new
/// key can be introduced (the old one moved to Secrets:PreviousKeys) without breaking stored values.
/// A purpose is bound as associated data: a value copied to another row does not decrypt there.
/// Today it encrypts the Data Protection key ring at rest (<see cref="KeyRingEncryptor"/>); before,
/// it encrypted channels' tokens directly, and those values (<c>k1:…</c>) still decrypt through
/// <see cref="SecretProtector"/>. Hand-written because Data Protection ships key encryptors only for
/// certificates, DPAPI and cloud key vaults, none of which a plain shared key fits.
/// </summary>
public sealed class SecretCipher
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly string _keyId;
    private readonly byte[]? _key;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public SecretCipher(SecretSettings settings)
    {
        _keyId = settings.EncryptionKeyId;
        if (_keyId.Length == 0 || _keyId.Contains(':')) throw new InvalidOperationException("Secrets:EncryptionKeyId must be a non-empty name without ':'");
        foreach (var (id, key) in settings.PreviousKeys ?? [])
        {
            _keys[id] = Decode(key, $"Secrets:PreviousKeys:{id}");
        }
        if (!string.IsNullOrEmpty(settings.EncryptionKey))
        {
            _key = Decode(settings.EncryptionKey, "Secrets:EncryptionKey");
            _keys[_keyId] = _key;
        }
    }

    /// <summary>Whether a key is configured to encrypt with.</summary>
    public bool CanProtect => _key is not null;

    public string Protect(string plaintext, string purpose)
    {
        var key = _key ?? throw new InvalidOperationException("Secrets:EncryptionKey is not configured: secrets cannot be stored");
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), Encoding.UTF8.GetBytes(purpose));
        return $"{_keyId}:{Convert.ToBase64String(output)}";
    }

    /// <summary>The plaintext of a <see cref="Protect"/>ed value; throws when the key is unknown or the value was altered.</summary>
    public string Unprotect(string protectedValue, string purpose)
    {
        var separator = protectedValue.IndexOf(':');
        if (separator <= 0 || !_keys.TryGetValue(protectedValue[..separator], out var key))
        {
            throw new CryptographicException($"No key for the protected value's key id '{(separator > 0 ? protectedValue[..separator] : "")}' (Secrets:EncryptionKeyId, Secrets:PreviousKeys)");
        }
        var data = Convert.FromBase64String(protectedValue[(separator + 1)..]);
        if (data.Length < NonceBytes + TagBytes) throw new CryptographicException("The protected value is too short");
        var plain = new byte[data.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(data.AsSpan(0, NonceBytes), data.AsSpan(NonceBytes + TagBytes), data.AsSpan(NonceBytes, TagBytes), plain, Encoding.UTF8.GetBytes(purpose));
        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] Decode(string base64, string setting)
    {
        try
        {
            var key = Convert.FromBase64String(base64);
            if (key.Length == 32) return key;
        }
        catch (FormatException)
        {
        }
        throw new InvalidOperationException($"{setting} must be base64 of 32 random bytes (openssl rand -base64 32)");
    }
}
