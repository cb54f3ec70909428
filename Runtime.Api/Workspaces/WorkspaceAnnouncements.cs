using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;

namespace Funnels.Runtime.Workspaces;

/// <summary>
/// Other services learn which workspaces exist from WorkspaceCreated, never by querying ours.
/// New workspaces publish it in the transaction that creates them; at start this publishes it for
/// every workspace not yet announced (the default one, and those created before the message
/// existed), through the outbox, marking them announced in the same transaction. Two instances
/// starting at once cannot both announce a workspace: the UPDATE locks the rows it takes.
/// </summary>
public sealed class WorkspaceAnnouncements(IServiceScopeFactory scopes, NpgsqlDataSource dataSource, ILogger<WorkspaceAnnouncements> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var announced = await scopes.AnnounceUnannouncedAsync<Announced>(dataSource,
            "UPDATE runtime.workspaces SET announced_at = now() WHERE announced_at IS NULL RETURNING id, slug, name, created_at",
            workspace => workspace.ToMessage(), cancellationToken);
        if (announced > 0)
        {
            logger.LogInformation("Announced {Count} workspace(s) with WorkspaceCreated", announced);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal sealed record Announced(Guid Id, string Slug, string Name, DateTime CreatedAt)
    {
        public WorkspaceCreated ToMessage() => new(Id, Slug, Name, new DateTimeOffset(CreatedAt, TimeSpan.Zero));
    }
}
