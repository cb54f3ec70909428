using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.Contacts;

/// <summary>
/// Joins a linked visitor's lead (same workspace, same visitor id) to the CRM contact. The link
/// is remembered, so a lead written later is joined on insert (trigger of migration 0005). Takes
/// the lead writer's lock on the visitor identity, so a lead being written right now is either
/// visible here or sees the remembered link. A visitor is linked once: the claim keeps it so.
/// </summary>
public static class VisitorLinkedToContactHandler
{
    private const string Consumer = "visitor-linked-to-contact";

    public static Task Handle(VisitorLinkedToContact message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, $"{message.WorkspaceId}:{message.VisitorId}", cancellationToken))
            {
                return;
            }
            var connection = transaction.Connection!;
            // The same key LeadWriter locks for a lead identified by this visitor id.
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
                new { key = $"lead:{message.WorkspaceId}:visitor:{message.VisitorId}" }, transaction);
            await connection.ExecuteAsync("""
                INSERT INTO runtime.visitor_contacts (workspace_id, visitor_id, contact_id, linked_at) VALUES (@WorkspaceId, @VisitorId, @ContactId, @LinkedAt)
                ON CONFLICT (workspace_id, visitor_id) DO NOTHING;
                UPDATE runtime.leads SET contact_id = @ContactId
                WHERE workspace_id = @WorkspaceId AND visitor_id = @VisitorId AND contact_id IS NULL;
                """, new { message.WorkspaceId, message.VisitorId, message.ContactId, LinkedAt = message.LinkedAt.UtcDateTime }, transaction);
        }, cancellationToken);
}
