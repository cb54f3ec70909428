using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// Encrypts secrets the product keeps in its database (channels' access tokens, Meta app secrets
/// and verify tokens) with ASP.NET Core Data Protection: one key ring in PostgreSQL shared by
/// Runtime.Api and Messaging.Worker (<see cref="PostgresKeyRing"/>), its keys encrypted with
/// Secrets:EncryptionKey (<see cref="KeyRingEncryptor"/>). A purpose (e.g. the phone-number id) is
/// bound through CreateProtector: a value copied to another row does not decrypt there.
/// <para>
/// Values written before Data Protection (<c>{key id}:{base64}</c>, <see cref="SecretCipher"/>)
/// still decrypt; Data Protection's own values are base64url and never hold a ':'. Whoever next
/// writes such a value writes it with Data Protection.
/// </para>
/// </summary>
public sealed class SecretProtector
{
    /// <summary>The root purpose of every secret (Data Protection's purpose chain starts here).</summary>
    public const string RootPurpose = "Funnels.Secrets";

    private readonly SecretCipher _legacy;
    private readonly IDataProtector _protector;

    public SecretProtector(SecretCipher legacy, IDataProtectionProvider dataProtection)
    {
        _legacy = legacy;
        _protector = dataProtection.CreateProtector(RootPurpose);
    }

    /// <summary>Whether Secrets:EncryptionKey is configured: without it nothing is stored (the key ring could not be encrypted).</summary>
    public bool CanProtect => _legacy.CanProtect;

    public string Protect(string plaintext, string purpose)
    {
        if (!CanProtect) throw new InvalidOperationException("Secrets:EncryptionKey is not configured: secrets cannot be stored");
        return _protector.CreateProtector(purpose).Protect(plaintext);
    }

    /// <summary>The plaintext of a protected value (Data Protection's, or a legacy one); throws CryptographicException when it does not decrypt for this purpose.</summary>
    public string Unprotect(string protectedValue, string purpose)
    {
        if (IsLegacy(protectedValue)) return _legacy.Unprotect(protectedValue, purpose);
        if (!CanProtect) throw new CryptographicException("Secrets:EncryptionKey is not configured: the key ring cannot be read");
        return _protector.CreateProtector(purpose).Unprotect(protectedValue);
    }

    /// <summary>A value written by <see cref="SecretCipher"/> before Data Protection (to be written anew).</summary>
    public static bool IsLegacy(string protectedValue) => protectedValue.Contains(':');
}
