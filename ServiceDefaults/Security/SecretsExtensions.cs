using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Funnels.ServiceDefaults.Security;

public static class SecretsExtensions
{
    /// <summary>One application name for the services sharing the key ring: Data Protection isolates keys by it.</summary>
    public const string ApplicationName = "funnels";

    /// <summary>
    /// <see cref="SecretProtector"/> from "Secrets" configuration, over Data Protection with its key
    /// ring in PostgreSQL. <paramref name="createsKeys"/>: Runtime.Api, which owns the key ring,
    /// creates and rotates its keys; every other service only reads them (a key is created two days
    /// before it is first used, and readers refresh the ring daily, so they know it in time).
    /// Without Secrets:EncryptionKey the ring is left alone and nothing is protected.
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsSecrets(this IHostApplicationBuilder builder, bool createsKeys = false)
    {
        var settings = builder.Configuration.GetSection("Secrets").Get<SecretSettings>() ?? new SecretSettings();
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<SecretCipher>();
        builder.Services.AddSingleton<SecretProtector>();
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName(ApplicationName);
        if (!string.IsNullOrEmpty(settings.EncryptionKey))
        {
            if (!createsKeys)
            {
                dataProtection.DisableAutomaticKeyGeneration();
            }
            builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(services => new ConfigureOptions<KeyManagementOptions>(options =>
            {
                options.XmlRepository = new PostgresKeyRing(services.GetRequiredService<NpgsqlDataSource>());
                options.XmlEncryptor = new KeyRingEncryptor(services.GetRequiredService<SecretCipher>());
            }));
        }
        return builder;
    }
}
