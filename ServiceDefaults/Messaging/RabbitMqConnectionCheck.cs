using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace Funnels.ServiceDefaults.Messaging;

// The health-check package for RabbitMQ is not in our registry; this one keeps a single
// connection and reopens it when the broker comes back.
public sealed class RabbitMqConnectionCheck(Uri uri) : IHealthCheck, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not { IsOpen: true })
            {
                if (_connection is not null)
                {
                    await _connection.DisposeAsync();
                }
                var factory = new ConnectionFactory { Uri = uri, ClientProvidedName = "funnels-health", RequestedConnectionTimeout = TimeSpan.FromSeconds(3) };
                _connection = await factory.CreateConnectionAsync(cancellationToken);
            }
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "RabbitMQ is unreachable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
