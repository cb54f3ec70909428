using System.Security.Cryptography;
using Funnels.ServiceDefaults.Security;

namespace Funnels.Tests.Security;

/// <summary>Channels' access tokens at rest: AES-GCM under a named key, bound to their channel, readable after a key rotation.</summary>
public sealed class SecretProtectorTests
{
    private static readonly string KeyA = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string KeyB = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void A_protected_token_names_its_key_hides_the_token_and_comes_back_for_its_purpose_only()
    {
        var protector = new SecretProtector(new SecretSettings { EncryptionKey = KeyA, EncryptionKeyId = "a" });

        var stored = protector.Protect("EAAG-secret-token", "106540352242922");

        Assert.StartsWith("a:", stored);
        Assert.DoesNotContain("EAAG", stored);
        Assert.NotEqual(stored, protector.Protect("EAAG-secret-token", "106540352242922"));
        Assert.Equal("EAAG-secret-token", protector.Unprotect(stored, "106540352242922"));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(stored, "999"));
    }

    [Fact]
    public void After_a_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key()
    {
        var before = new SecretProtector(new SecretSettings { EncryptionKey = KeyA, EncryptionKeyId = "a" });
        var old = before.Protect("token", "1");
        var after = new SecretProtector(new SecretSettings { EncryptionKey = KeyB, EncryptionKeyId = "b", PreviousKeys = new() { ["a"] = KeyA } });

        Assert.Equal("token", after.Unprotect(old, "1"));
        Assert.StartsWith("b:", after.Protect("token", "1"));
        Assert.ThrowsAny<CryptographicException>(() => new SecretProtector(new SecretSettings { EncryptionKey = KeyB, EncryptionKeyId = "b" }).Unprotect(old, "1"));
    }

    [Fact]
    public void A_key_that_is_not_32_bytes_of_base64_is_refused_at_start()
    {
        Assert.Throws<InvalidOperationException>(() => new SecretProtector(new SecretSettings { EncryptionKey = "too-short" }));
        Assert.False(new SecretProtector(new SecretSettings()).CanProtect);
        Assert.Throws<InvalidOperationException>(() => new SecretProtector(new SecretSettings()).Protect("token", "1"));
    }
}
