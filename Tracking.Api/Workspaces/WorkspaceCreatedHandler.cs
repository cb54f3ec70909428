using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Workspaces;

/// <summary>Records a workspace Runtime.Api created; a repeated message changes nothing.</summary>
public static class WorkspaceCreatedHandler
{
    public static Task Handle(WorkspaceCreated message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, transaction => transaction.Connection!.ExecuteAsync("""
            INSERT INTO tracking.workspaces (id, slug, name, created_at) VALUES (@WorkspaceId, @Slug, @Name, @createdAt)
            ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name
            """, new { message.WorkspaceId, message.Slug, message.Name, createdAt = message.CreatedAt.UtcDateTime }, transaction), cancellationToken);
}
