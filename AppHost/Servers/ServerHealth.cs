using System.Net.Sockets;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;

namespace Funnels.AppHost.Servers;

/// <summary>
/// The servers' health as Aspire's dashboard and WaitFor see it: each check logs in with the
/// resource's own connection string through the server's usual client, as the services will.
/// Nothing is pooled or kept: a server stopped by a test must not be held by AppHost.
/// </summary>
internal static class ServerHealth
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static async Task<HealthCheckResult> PostgresAsync(LocalPostgresResource server, string database, CancellationToken ct)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(await server.ConnectionStringExpression.GetValueAsync(ct))
            {
                Database = database, Pooling = false, Timeout = (int)Timeout.TotalSeconds,
            };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }

    public static async Task<HealthCheckResult> RabbitMQAsync(LocalRabbitMQResource broker, CancellationToken ct)
    {
        try
        {
            var factory = new ConnectionFactory
            {
                Uri = new Uri(await broker.ConnectionStringExpression.GetValueAsync(ct) ?? ""),
                RequestedConnectionTimeout = Timeout,
                AutomaticRecoveryEnabled = false,
                ClientProvidedName = "apphost-health",
            };
            await using var connection = await factory.CreateConnectionAsync(ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or SocketException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }

    public static async Task<HealthCheckResult> RedisAsync(LocalRedisResource redis, CancellationToken ct)
    {
        try
        {
            var options = ConfigurationOptions.Parse(await redis.ConnectionStringExpression.GetValueAsync(ct) ?? "");
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = (int)Timeout.TotalMilliseconds;
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is RedisException or SocketException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy(e.Message, e);
        }
    }
}
