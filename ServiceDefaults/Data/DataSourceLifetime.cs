using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

/// <summary>
/// Closes the service's connection pool when the host stops. The data source is registered as an
/// instance (Wolverine's generated handlers need it as a plain singleton), and the container never
/// disposes instances it did not create. Registered before every other hosted service, so it stops last.
/// </summary>
internal sealed class DataSourceLifetime(NpgsqlDataSource dataSource) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) => await dataSource.DisposeAsync();
}
