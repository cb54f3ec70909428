using System.Collections.Concurrent;
using Dapper;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace Funnels.ServiceDefaults.Security;

/// <summary>
/// Every admin request, on every service, proves that the session or API key behind its token
/// still stands: the session not signed out or expired, the membership still there with the same
/// security stamp (so the same role), the key not revoked. The rows are Runtime.Api's (schema
/// "runtime"): this is the one read of another service's schema, read-only, documented in
/// docs/security/sessions-and-revocation.md.
/// <para>
/// Answers are kept for <see cref="CacheFor"/>. A change clears the cache of the instance that
/// made it at once (<see cref="ChangedAsync"/>) and tells every other instance of every service
/// through Redis pub/sub; while Redis is away the TTL alone bounds how long others keep an old
/// answer. A database outage is not a "no": the exception reaches DatabaseUnavailableExceptionHandler
/// (503), so the check never fails open and never answers 500 for it.
/// </para>
/// </summary>
public sealed class TokenRevocation(NpgsqlDataSource dataSource, ILogger<TokenRevocation> logger)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    public static readonly RedisChannel Channel = RedisChannel.Literal("funnels:security-changed");
    private const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<TokenShape, (bool Valid, long UntilMs)> _answers = new();
    private long _generation;

    /// <summary>JwtBearer's OnTokenValidated: refuses shapes we never issue and tokens whose session or key is gone.</summary>
    public async Task ValidateAsync(TokenValidatedContext context)
    {
        if (context.Principal is null || TokenShape.Read(context.Principal) is not { } token)
        {
            context.Fail("The token does not have the shape of a Funnels admin token.");
            return;
        }
        if (!await IsCurrentAsync(token, context.HttpContext.RequestAborted))
        {
            context.Fail("The token's session or API key was revoked, or its membership changed.");
        }
    }

    public async Task<bool> IsCurrentAsync(TokenShape token, CancellationToken cancellationToken)
    {
        // A monotonic clock: a test's (or a skewed) TimeProvider must not keep answers forever.
        var now = Environment.TickCount64;
        if (_answers.TryGetValue(token, out var cached) && cached.UntilMs > now)
        {
            return cached.Valid;
        }
        var generation = Interlocked.Read(ref _generation);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var valid = token.ApiKeyId is { } key
            ? await connection.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM runtime.api_keys
                    WHERE id = @key AND workspace_id = @workspace AND role = @role AND revoked_at IS NULL)
                """, new { key, workspace = token.WorkspaceId, role = token.Role })
            : await connection.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM runtime.sessions s
                    JOIN runtime.workspace_members m ON m.user_id = s.user_id AND m.workspace_id = @workspace
                    WHERE s.id = @session AND s.user_id = @user AND s.revoked_at IS NULL AND s.expires_at > now()
                      AND m.role = @role AND m.security_stamp = @stamp)
                """, new { session = token.SessionId, user = token.UserId, workspace = token.WorkspaceId, role = token.Role, stamp = token.Stamp });
        if (_answers.Count >= MaxEntries)
        {
            _answers.Clear();
        }
        // A change heard while this query ran may have come after the row was read: don't keep that answer.
        if (Interlocked.Read(ref _generation) == generation)
        {
            _answers[token] = (valid, now + (long)CacheFor.TotalMilliseconds);
        }
        return valid;
    }

    /// <summary>Forgets every kept answer on this instance (a change was made here or announced).</summary>
    public void Forget()
    {
        Interlocked.Increment(ref _generation);
        _answers.Clear();
    }

    /// <summary>
    /// Call after committing a revocation, sign-out or membership change: this instance forgets at
    /// once, the others when Redis delivers the announcement (or their TTL runs out).
    /// </summary>
    public async Task ChangedAsync(IConnectionMultiplexer redis)
    {
        Forget();
        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, "changed");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not announce a security change through Redis ({Error}); other instances see it within {Seconds} s",
                ex.Message, CacheFor.TotalSeconds);
        }
    }
}

/// <summary>Listens for other instances' security changes (Redis pub/sub) and forgets the kept answers.</summary>
public sealed class TokenRevocationListener(IConnectionMultiplexer redis, TokenRevocation revocation, ILogger<TokenRevocationListener> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(TokenRevocation.Channel, (_, _) => revocation.Forget());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // StackExchange.Redis keeps the subscription and renews it when it reconnects.
            logger.LogWarning("Could not subscribe to security changes yet ({Error}); kept answers expire within {Seconds} s",
                ex.Message, TokenRevocation.CacheFor.TotalSeconds);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class TokenRevocationExtensions
{
    public static IServiceCollection AddTokenRevocation(this IServiceCollection services)
    {
        services.AddSingleton<TokenRevocation>();
        services.AddHostedService<TokenRevocationListener>();
        return services;
    }
}
