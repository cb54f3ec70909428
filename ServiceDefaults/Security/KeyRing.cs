using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// Data Protection's key ring in PostgreSQL, table runtime.data_protection_keys. Runtime.Api owns
/// it (migration 0011; it creates and rotates the keys); Messaging.Worker only reads it, the one
/// other read of the runtime schema besides TokenRevocation's (docs/security/whatsapp-channels.md).
/// Microsoft ships key-ring repositories for the file system, Redis, Azure and EF Core only (no
/// Npgsql-only one, and no service here uses EF Core), hence this small one over Dapper. Data
/// Protection calls it synchronously, rarely (at start and when its cached ring expires).
/// </summary>
public sealed class PostgresKeyRing(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = dataSource.OpenConnection();
        return connection.Query<string>("SELECT xml FROM runtime.data_protection_keys ORDER BY id").Select(x => XElement.Parse(x)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = dataSource.OpenConnection();
        connection.Execute("INSERT INTO runtime.data_protection_keys (friendly_name, xml) VALUES (@friendlyName, @xml)",
            new { friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) });
    }
}

/// <summary>
/// Encrypts each Data Protection key before it is stored, with Secrets:EncryptionKey
/// (<see cref="SecretCipher"/>: AES-256-GCM, the key id written before the value, so
/// Secrets:PreviousKeys still decrypts keys written before a rotation). A stolen database dump
/// alone then decrypts nothing.
/// </summary>
public sealed class KeyRingEncryptor(SecretCipher cipher) : IXmlEncryptor
{
    public const string Purpose = "Funnels.DataProtection.KeyRing";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement) => new(
        new XElement("encryptedKey",
            new XComment(" Encrypted with Secrets:EncryptionKey (AES-256-GCM); the prefix names the key id. "),
            new XElement("value", cipher.Protect(plaintextElement.ToString(SaveOptions.DisableFormatting), Purpose))),
        typeof(KeyRingDecryptor));
}

/// <summary>The other half of <see cref="KeyRingEncryptor"/>; Data Protection creates it by type name with the service provider.</summary>
public sealed class KeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement) =>
        XElement.Parse(services.GetRequiredService<SecretCipher>().Unprotect(
            encryptedElement.Element("value")?.Value ?? throw new FormatException("An encrypted key without its value"), KeyRingEncryptor.Purpose));
}
