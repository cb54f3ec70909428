using Dapper;
using Funnels.Contracts;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Linking;

public static class LinkMethods
{
    public const string Webhook = "webhook";
    public const string Identify = "identify";
}

/// <summary>linked: this call linked the visitor; confirmed: it was already linked to the same contact; conflict: to another one.</summary>
public sealed record LinkOutcome(string Result, string ContactId, string? LinkedContactId, int SessionsLinked);

/// <summary>
/// Links a visitor to a contact inside the caller's outbox transaction. Under the visitor's lock,
/// the (workspace, visitor) primary key of visitor_links decides who links first; every unlinked
/// session of the visitor is linked in the same statement set, and the integration message
/// commits with it. A repeat is a recorded confirmation; another contact is a recorded conflict.
/// </summary>
public static class LinkWriter
{
    public const string Linked = "linked";
    public const string Confirmed = "confirmed";
    public const string Conflict = "conflict";

    public static async Task<LinkOutcome> LinkAsync(
        NpgsqlTransaction transaction, IMessageContext messages, Guid workspaceId, string visitorId, string contactId, string method, DateTime now)
    {
        var connection = transaction.Connection!;
        await VisitorLock.AcquireAsync(transaction, workspaceId, visitorId);

        var created = await connection.ExecuteAsync("""
            INSERT INTO tracking.visitor_links (workspace_id, visitor_id, contact_id, method, linked_at, session_started_at, latency_seconds)
            SELECT @workspaceId, @visitorId, @contactId, @method, @now, s.started, extract(epoch FROM (@now - s.started))
            FROM (SELECT max(started_at) AS started FROM tracking.sessions WHERE workspace_id = @workspaceId AND visitor_id = @visitorId) s
            ON CONFLICT (workspace_id, visitor_id) DO NOTHING
            """, new { workspaceId, visitorId, contactId, method, now }, transaction);
        if (created == 1)
        {
            var sessions = await connection.ExecuteAsync("""
                UPDATE tracking.sessions SET contact_id = @contactId, linked_at = @now, link_method = @method
                WHERE workspace_id = @workspaceId AND visitor_id = @visitorId AND contact_id IS NULL
                """, new { workspaceId, visitorId, contactId, method, now }, transaction);
            await messages.PublishAsync(new VisitorLinkedToContact(workspaceId, visitorId, contactId, method, new DateTimeOffset(now)));
            return new LinkOutcome(Linked, contactId, contactId, sessions);
        }

        var linkedTo = await connection.QuerySingleAsync<string>(
            "SELECT contact_id FROM tracking.visitor_links WHERE workspace_id = @workspaceId AND visitor_id = @visitorId",
            new { workspaceId, visitorId }, transaction);
        if (linkedTo == contactId)
        {
            await connection.ExecuteAsync("""
                UPDATE tracking.visitor_links SET confirmations = confirmations + 1, confirmed_at = @now, confirmed_by = @method
                WHERE workspace_id = @workspaceId AND visitor_id = @visitorId
                """, new { workspaceId, visitorId, method, now }, transaction);
            return new LinkOutcome(Confirmed, contactId, linkedTo, 0);
        }

        await connection.ExecuteAsync("""
            INSERT INTO tracking.link_conflicts (id, workspace_id, visitor_id, linked_contact_id, attempted_contact_id, method, occurred_at)
            VALUES (@id, @workspaceId, @visitorId, @linkedTo, @contactId, @method, @now)
            """, new { id = Guid.CreateVersion7(), workspaceId, visitorId, linkedTo, contactId, method, now }, transaction);
        return new LinkOutcome(Conflict, contactId, linkedTo, 0);
    }

    public static Task UpsertContactAsync(NpgsqlTransaction transaction, Guid workspaceId, string contactId, string? email, string? phone, DateTime now) =>
        transaction.Connection!.ExecuteAsync("""
            INSERT INTO tracking.contacts (workspace_id, id, email, phone, created_at, updated_at) VALUES (@workspaceId, @contactId, @email, @phone, @now, @now)
            ON CONFLICT (workspace_id, id) DO UPDATE SET email = coalesce(EXCLUDED.email, contacts.email),
                phone = coalesce(EXCLUDED.phone, contacts.phone), updated_at = EXCLUDED.updated_at
            """, new { workspaceId, contactId, email, phone, now }, transaction);
}
