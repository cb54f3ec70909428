using System.Security.Cryptography;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Linking.Crm;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// At start (after the schema's migrations), encrypts every workspace CRM secret still kept in plain
/// text (<see cref="CrmSecrets"/>), so one no delivery reads is not left readable in the database.
/// Two instances starting at once move each value once (the UPDATE matches the plain text). A key
/// ring that cannot be used yet does not stop the service: what is left moves on first use or at
/// the next start.
/// </summary>
public sealed class CrmSecretsAtStartup(NpgsqlDataSource dataSource, SecretProtector secrets, CrmMetrics metrics, ILogger<CrmSecretsAtStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var plaintext = await CrmSecrets.PlaintextAsync(connection);
        if (plaintext.Count == 0)
        {
            return;
        }
        if (!secrets.CanProtect)
        {
            metrics.PlaintextSecret("not_protected", plaintext.Count);
            logger.LogWarning("{Count} workspace CRM secret(s) are kept in plain text: configure Secrets:EncryptionKey on Tracking.Api to encrypt them", plaintext.Count);
            return;
        }
        var moved = 0;
        try
        {
            foreach (var (workspaceId, secret) in plaintext)
            {
                if (await CrmSecrets.ProtectPlaintextAsync(connection, workspaceId, secret, secrets))
                {
                    moved++;
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or CryptographicException or NpgsqlException)
        {
            metrics.PlaintextSecret("not_protected", plaintext.Count - moved);
            logger.LogWarning(ex, "{Count} workspace CRM secret(s) kept in plain text could not be encrypted yet (the key ring is not readable?): they are on first use or at the next start", plaintext.Count - moved);
        }
        if (moved > 0)
        {
            metrics.PlaintextSecret("protected_at_startup", moved);
            logger.LogInformation("Encrypted {Count} workspace CRM secret(s) kept in plain text", moved);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
