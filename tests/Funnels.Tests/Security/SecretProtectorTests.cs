using System.Security.Cryptography;
using System.Xml.Linq;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Security;

/// <summary>
/// Secrets at rest: Data Protection values bound to their purpose, its keys encrypted with
/// Secrets:EncryptionKey (SecretCipher: AES-GCM under a named key, readable after a rotation),
/// and values written before Data Protection (<c>k1:…</c>) still readable.
/// </summary>
public sealed class SecretProtectorTests
{
    private static readonly string KeyA = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string KeyB = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void A_protected_secret_hides_the_secret_and_comes_back_for_its_purpose_only()
    {
        var protector = Protector(new SecretSettings { EncryptionKey = KeyA }, new MemoryKeyRing());

        var stored = protector.Protect("EAAG-secret-token", "106540352242922");

        Assert.False(SecretProtector.IsLegacy(stored));
        Assert.DoesNotContain("EAAG", stored);
        Assert.NotEqual(stored, protector.Protect("EAAG-secret-token", "106540352242922"));
        Assert.Equal("EAAG-secret-token", protector.Unprotect(stored, "106540352242922"));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(stored, "999"));
    }

    [Fact]
    public void Another_service_with_the_same_key_ring_and_key_reads_it_and_the_ring_holds_no_plaintext_key()
    {
        var ring = new MemoryKeyRing();
        var stored = Protector(new SecretSettings { EncryptionKey = KeyA }, ring).Protect("token", "1");

        Assert.Equal("token", Protector(new SecretSettings { EncryptionKey = KeyA }, ring).Unprotect(stored, "1"));
        var key = Assert.Single(ring.GetAllElements());
        Assert.DoesNotContain(key.Descendants(), e => e.Name.LocalName == "masterKey");
        Assert.Contains(key.Descendants().Where(e => e.Name.LocalName == "encryptedSecret"), e => e.Attribute("decryptorType")!.Value.StartsWith(typeof(KeyRingDecryptor).FullName!, StringComparison.Ordinal));
        // Under another Secrets:EncryptionKey the ring's keys do not decrypt, so neither does the value.
        Assert.ThrowsAny<Exception>(() => Protector(new SecretSettings { EncryptionKey = KeyB }, ring).Unprotect(stored, "1"));
    }

    [Fact]
    public void A_value_written_before_data_protection_still_decrypts()
    {
        var legacy = new SecretCipher(new SecretSettings { EncryptionKey = KeyA }).Protect("EAAG-old-token", "106540352242922");
        Assert.StartsWith("k1:", legacy);

        var protector = Protector(new SecretSettings { EncryptionKey = KeyA }, new MemoryKeyRing());

        Assert.True(SecretProtector.IsLegacy(legacy));
        Assert.Equal("EAAG-old-token", protector.Unprotect(legacy, "106540352242922"));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(legacy, "999"));
    }

    [Fact]
    public void After_a_rotation_of_the_encryption_key_old_values_still_decrypt_and_new_ones_use_the_new_key()
    {
        var before = new SecretCipher(new SecretSettings { EncryptionKey = KeyA, EncryptionKeyId = "a" });
        var old = before.Protect("token", "1");
        var after = new SecretCipher(new SecretSettings { EncryptionKey = KeyB, EncryptionKeyId = "b", PreviousKeys = new() { ["a"] = KeyA } });

        Assert.Equal("token", after.Unprotect(old, "1"));
        Assert.StartsWith("b:", after.Protect("token", "1"));
        Assert.ThrowsAny<CryptographicException>(() => new SecretCipher(new SecretSettings { EncryptionKey = KeyB, EncryptionKeyId = "b" }).Unprotect(old, "1"));

        // The key ring written under key "a" is still read once "b" is the key and "a" a previous one.
        var ring = new MemoryKeyRing();
        var stored = Protector(new SecretSettings { EncryptionKey = KeyA, EncryptionKeyId = "a" }, ring).Protect("token", "1");
        Assert.Equal("token", Protector(new SecretSettings { EncryptionKey = KeyB, EncryptionKeyId = "b", PreviousKeys = new() { ["a"] = KeyA } }, ring).Unprotect(stored, "1"));
    }

    [Fact]
    public void A_key_that_is_not_32_bytes_of_base64_is_refused_at_start_and_without_a_key_nothing_is_protected()
    {
        Assert.Throws<InvalidOperationException>(() => new SecretCipher(new SecretSettings { EncryptionKey = "too-short" }));
        var unconfigured = Protector(new SecretSettings(), new MemoryKeyRing());
        Assert.False(unconfigured.CanProtect);
        Assert.Throws<InvalidOperationException>(() => unconfigured.Protect("token", "1"));
    }

    /// <summary>A protector configured the way AddFunnelsSecrets configures it, over an in-memory key ring.</summary>
    private static SecretProtector Protector(SecretSettings settings, MemoryKeyRing ring)
    {
        var services = new ServiceCollection();
        services.AddSingleton(settings);
        services.AddSingleton<SecretCipher>();
        services.AddSingleton<SecretProtector>();
        services.AddDataProtection().SetApplicationName(SecretsExtensions.ApplicationName);
        services.Configure<KeyManagementOptions>(options => options.XmlRepository = ring);
        services.AddSingleton<Microsoft.Extensions.Options.IConfigureOptions<KeyManagementOptions>>(sp =>
            new Microsoft.Extensions.Options.ConfigureOptions<KeyManagementOptions>(options => options.XmlEncryptor = new KeyRingEncryptor(sp.GetRequiredService<SecretCipher>())));
        return services.BuildServiceProvider().GetRequiredService<SecretProtector>();
    }

    private sealed class MemoryKeyRing : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements) return _elements.Select(e => new XElement(e)).ToList();
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements) _elements.Add(new XElement(element));
        }
    }
}
