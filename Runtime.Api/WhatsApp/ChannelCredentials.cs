using System.Collections.Concurrent;
using System.Security.Cryptography;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Npgsql;
using StackExchange.Redis;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// The channels' own Meta app secrets and verify tokens, decrypted, for the webhook (every Meta
/// delivery asks for the secrets of its numbers: the hot path). Answers are kept for
/// <see cref="CacheFor"/>, unknown numbers included; a channel change clears them on the instance
/// that made it at once and on the others through Redis pub/sub (the TTL bounds them while Redis is away).
/// </summary>
public sealed class ChannelCredentials(NpgsqlDataSource dataSource, SecretProtector secrets, ILogger<ChannelCredentials> logger)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    public static readonly RedisChannel Channel = RedisChannel.Literal("funnels:whatsapp-channels-changed");
    private const int MaxEntries = 10_000;

    public static string AppSecretPurpose(string phoneNumberId) => $"whatsapp-app-secret:{phoneNumberId}";
    public static string VerifyTokenPurpose(string phoneNumberId) => $"whatsapp-verify-token:{phoneNumberId}";

    private readonly ConcurrentDictionary<string, (string? Secret, long UntilMs)> _secrets = new();
    private (string[] Tokens, long UntilMs)? _verifyTokens;
    private long _generation;

    /// <summary>
    /// Each number's own app secret, or null where it has none (unclaimed numbers too): those use the
    /// install's. A stored secret that does not decrypt throws CryptographicException (never the install's secret instead).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string?>> AppSecretsAsync(IReadOnlyCollection<string> phoneNumberIds, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var found = new Dictionary<string, string?>();
        var missing = new List<string>();
        foreach (var id in phoneNumberIds)
        {
            if (_secrets.TryGetValue(id, out var kept) && kept.UntilMs > now) found[id] = kept.Secret;
            else missing.Add(id);
        }
        if (missing.Count == 0) return found;

        var generation = Interlocked.Read(ref _generation);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<(string PhoneNumberId, string AppSecret)>(
            "SELECT phone_number_id, app_secret FROM runtime.whatsapp_channels WHERE phone_number_id = ANY(@missing) AND app_secret IS NOT NULL",
            new { missing = missing.ToArray() })).ToDictionary(r => r.PhoneNumberId, r => r.AppSecret);
        var decrypted = missing.ToDictionary(id => id, id => rows.TryGetValue(id, out var stored) ? Unprotect(stored, AppSecretPurpose(id), id) : null);
        if (_secrets.Count + missing.Count > MaxEntries) _secrets.Clear();
        var keep = Interlocked.Read(ref _generation) == generation;
        foreach (var (id, secret) in decrypted)
        {
            found[id] = secret;
            // A change heard while the query ran may have come after the row was read: don't keep that answer.
            if (keep) _secrets[id] = (secret, now + (long)CacheFor.TotalMilliseconds);
        }
        return found;
    }

    /// <summary>Whether <paramref name="token"/> is one of the channels' own verify tokens (compared in constant time).</summary>
    public async Task<bool> IsChannelVerifyTokenAsync(string token, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var tokens = _verifyTokens is { } kept && kept.UntilMs > now ? kept.Tokens : null;
        if (tokens is null)
        {
            var generation = Interlocked.Read(ref _generation);
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var rows = await connection.QueryAsync<(string PhoneNumberId, string VerifyToken)>(
                "SELECT phone_number_id, verify_token FROM runtime.whatsapp_channels WHERE verify_token IS NOT NULL");
            tokens = rows.Select(r => TryUnprotect(r.VerifyToken, VerifyTokenPurpose(r.PhoneNumberId), r.PhoneNumberId)).OfType<string>().ToArray();
            if (Interlocked.Read(ref _generation) == generation) _verifyTokens = (tokens, now + (long)CacheFor.TotalMilliseconds);
        }
        var given = System.Text.Encoding.UTF8.GetBytes(token);
        var match = false;
        foreach (var candidate in tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(given, System.Text.Encoding.UTF8.GetBytes(candidate));
        }
        return match;
    }

    /// <summary>Forgets every kept answer on this instance (a channel changed here or elsewhere).</summary>
    public void Forget()
    {
        Interlocked.Increment(ref _generation);
        _secrets.Clear();
        _verifyTokens = null;
    }

    /// <summary>Call after committing a channel change: this instance forgets at once, the others when Redis delivers the announcement.</summary>
    public async Task ChangedAsync(IConnectionMultiplexer redis)
    {
        Forget();
        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, "changed");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not announce a WhatsApp channel change through Redis ({Error}); other instances see it within {Seconds} s",
                ex.Message, CacheFor.TotalSeconds);
        }
    }

    private string Unprotect(string stored, string purpose, string phoneNumberId)
    {
        try
        {
            return secrets.Unprotect(stored, purpose);
        }
        catch (CryptographicException ex)
        {
            // A key ring or Secrets:EncryptionKey that lost the key: the channel's own credential is unusable, say so.
            logger.LogError("The stored {Credential} of WhatsApp channel {PhoneNumberId} does not decrypt: {Error}", purpose.Split(':')[0], phoneNumberId, ex.Message);
            throw;
        }
    }

    private string? TryUnprotect(string stored, string purpose, string phoneNumberId)
    {
        try
        {
            return Unprotect(stored, purpose, phoneNumberId);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}

/// <summary>Listens for other instances' channel changes (Redis pub/sub) and forgets the kept credentials.</summary>
public sealed class ChannelCredentialsListener(IConnectionMultiplexer redis, ChannelCredentials credentials, ILogger<ChannelCredentialsListener> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(ChannelCredentials.Channel, (_, _) => credentials.Forget());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // StackExchange.Redis keeps the subscription and renews it when it reconnects.
            logger.LogWarning("Could not subscribe to WhatsApp channel changes yet ({Error}); kept credentials expire within {Seconds} s",
                ex.Message, ChannelCredentials.CacheFor.TotalSeconds);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
