using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Contacts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.Contacts;

/// <summary>
/// Joins a linked visitor's leads (same workspace, same visitor id) to the CRM contact. The link
/// is remembered, so a lead written later is joined on insert (trigger of migration 0005). Takes
/// the lead writer's lock on the visitor identity, so a lead being written right now is either
/// visible here or sees the remembered link. A link is replaced when Tracking.Api publishes it
/// again with a higher generation (a signed CRM webhook over an anonymous identify claim): the
/// remembered contact and the visitor's leads move to the new contact. An older generation
/// arriving late changes nothing, and each generation is applied once (the claim).
/// </summary>
public static class VisitorLinkedToContactHandler
{
    private const string Consumer = "visitor-linked-to-contact";

    public static Task Handle(VisitorLinkedToContact message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        // A link announced before placeholders were refused ("null" linked to a contact) must not join every "null" lead to it.
        if (VisitorIds.Read(message.VisitorId, "runtime-visitor-linked") is null)
        {
            return Task.CompletedTask;
        }
        return context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            // Generation 1 keeps the key it always had, so a link applied before generations existed is not applied twice.
            var key = message.Generation <= 1 ? $"{message.WorkspaceId}:{message.VisitorId}" : $"{message.WorkspaceId}:{message.VisitorId}:{message.Generation}";
            if (!await transaction.TryClaimAsync(Extensions.Extensions.Schema, Consumer, key, cancellationToken))
            {
                return;
            }
            var connection = transaction.Connection!;
            // The same key LeadWriter locks for a lead identified by this visitor id.
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
                new { key = $"lead:{message.WorkspaceId}:visitor:{message.VisitorId}" }, transaction);
            var newest = await connection.ExecuteScalarAsync<int?>("""
                INSERT INTO runtime.visitor_contacts (workspace_id, visitor_id, contact_id, linked_at, generation)
                VALUES (@WorkspaceId, @VisitorId, @ContactId, @LinkedAt, @Generation)
                ON CONFLICT (workspace_id, visitor_id) DO UPDATE SET contact_id = EXCLUDED.contact_id, linked_at = EXCLUDED.linked_at,
                    generation = EXCLUDED.generation
                WHERE visitor_contacts.generation < EXCLUDED.generation
                RETURNING generation
                """, Parameters(message), transaction);
            if (newest is null)
            {
                return; // a newer link of this visitor was applied already
            }
            // A visitor's leads get their contact only from its link: the newest link decides.
            await connection.ExecuteAsync("""
                UPDATE runtime.leads SET contact_id = @ContactId
                WHERE workspace_id = @WorkspaceId AND visitor_id = @VisitorId AND contact_id IS DISTINCT FROM @ContactId
                """, Parameters(message), transaction);
        }, cancellationToken);
    }

    private static object Parameters(VisitorLinkedToContact message) => new
    {
        message.WorkspaceId, message.VisitorId, message.ContactId, LinkedAt = message.LinkedAt.UtcDateTime, message.Generation,
    };
}
