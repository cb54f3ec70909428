using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Funnels.ServiceDefaults.Data;

// Registered before messaging, so the schema is current before any handler or endpoint runs.
internal sealed class SchemaMigrationsAtStartup(SchemaMigrator migrator, ILogger<SchemaMigrationsAtStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var applied = await migrator.MigrateAsync(cancellationToken);
        logger.LogInformation("Schema {Schema}: applied {Count} migration(s) {Versions}", migrator.Schema, applied.Count, applied);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
