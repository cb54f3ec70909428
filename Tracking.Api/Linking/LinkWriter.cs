using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Contacts;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Linking;

public static class LinkMethods
{
    public const string Webhook = "webhook";
    public const string Identify = "identify";
}

/// <summary>
/// Who vouches for a link: the CRM webhook is authenticated by the workspace's secret (signed);
/// identify can be posted by anyone for any visitor id (provisional).
/// </summary>
public static class LinkTrust
{
    public const string Signed = "signed";
    public const string Provisional = "provisional";

    public static string Of(string method) => method == LinkMethods.Webhook ? Signed : Provisional;
}

/// <summary>
/// linked: this call linked the visitor; confirmed: it was already linked to the same contact;
/// relinked: a signed claim replaced a provisional link to another contact; conflict: it is linked
/// to another contact and this claim may not replace it.
/// </summary>
public sealed record LinkOutcome(string Result, string ContactId, string? LinkedContactId, int SessionsLinked);

/// <summary>
/// Links a visitor to a contact inside the caller's outbox transaction. Under the visitor's lock,
/// the (workspace, visitor) primary key of visitor_links decides who links first; every unlinked
/// session of the visitor is linked in the same statement set, and the integration message
/// commits with it. A repeat is a recorded confirmation (a signed one makes a provisional link
/// signed). Another contact is a recorded conflict, except that a signed webhook replaces a
/// provisional identify link: the old link goes to visitor_link_history, the sessions follow and
/// VisitorLinkedToContact is published again with the next generation. A signed link is never replaced.
/// </summary>
public static class LinkWriter
{
    public const string Linked = "linked";
    public const string Confirmed = "confirmed";
    public const string Relinked = "relinked";
    public const string Conflict = "conflict";

    public static async Task<LinkOutcome> LinkAsync(
        NpgsqlTransaction transaction, IMessageContext messages, Guid workspaceId, string visitorId, string contactId, string method, DateTime now)
    {
        var connection = transaction.Connection!;
        await VisitorLock.AcquireAsync(transaction, workspaceId, visitorId);
        var trust = LinkTrust.Of(method);

        var created = await connection.ExecuteAsync("""
            INSERT INTO tracking.visitor_links (workspace_id, visitor_id, contact_id, method, trust, linked_at, session_started_at, latency_seconds)
            SELECT @workspaceId, @visitorId, @contactId, @method, @trust, @now, s.started, extract(epoch FROM (@now - s.started))
            FROM (SELECT max(started_at) AS started FROM tracking.sessions WHERE workspace_id = @workspaceId AND visitor_id = @visitorId) s
            ON CONFLICT (workspace_id, visitor_id) DO NOTHING
            """, new { workspaceId, visitorId, contactId, method, trust, now }, transaction);
        if (created == 1)
        {
            var sessions = await LinkSessionsAsync(transaction, workspaceId, visitorId, contactId, method, now);
            await messages.PublishAsync(new VisitorLinkedToContact(workspaceId, visitorId, contactId, method, new DateTimeOffset(now)));
            return new LinkOutcome(Linked, contactId, contactId, sessions);
        }

        var link = await connection.QuerySingleAsync<ExistingLink>("""
            SELECT contact_id, method, trust, generation, linked_at FROM tracking.visitor_links WHERE workspace_id = @workspaceId AND visitor_id = @visitorId
            """, new { workspaceId, visitorId }, transaction);
        if (link.ContactId == contactId)
        {
            await connection.ExecuteAsync("""
                UPDATE tracking.visitor_links SET confirmations = confirmations + 1, confirmed_at = @now, confirmed_by = @method,
                    trust = CASE WHEN @trust = 'signed' THEN 'signed' ELSE trust END
                WHERE workspace_id = @workspaceId AND visitor_id = @visitorId
                """, new { workspaceId, visitorId, method, trust, now }, transaction);
            return new LinkOutcome(Confirmed, contactId, link.ContactId, 0);
        }

        if (link.Trust == LinkTrust.Provisional && trust == LinkTrust.Signed)
        {
            return await ReplaceAsync(transaction, messages, workspaceId, visitorId, contactId, method, now, link);
        }

        await connection.ExecuteAsync("""
            INSERT INTO tracking.link_conflicts (id, workspace_id, visitor_id, linked_contact_id, attempted_contact_id, method, occurred_at)
            VALUES (@id, @workspaceId, @visitorId, @linkedTo, @contactId, @method, @now)
            """, new { id = Guid.CreateVersion7(), workspaceId, visitorId, linkedTo = link.ContactId, contactId, method, now }, transaction);
        return new LinkOutcome(Conflict, contactId, link.ContactId, 0);
    }

    private static async Task<LinkOutcome> ReplaceAsync(
        NpgsqlTransaction transaction, IMessageContext messages, Guid workspaceId, string visitorId, string contactId, string method, DateTime now,
        ExistingLink old)
    {
        var generation = old.Generation + 1;
        var reason = $"a CRM webhook signed with the workspace's secret linked the visitor to another contact; the {old.Method} link was provisional";
        await transaction.Connection!.ExecuteAsync("""
            INSERT INTO tracking.visitor_link_history (id, workspace_id, visitor_id, generation, contact_id, method, trust, linked_at,
                replaced_by_contact_id, replaced_by_method, replaced_at, reason)
            VALUES (@id, @workspaceId, @visitorId, @oldGeneration, @oldContact, @oldMethod, @oldTrust, @oldLinkedAt, @contactId, @method, @now, @reason);
            UPDATE tracking.visitor_links l SET contact_id = @contactId, method = @method, trust = 'signed', linked_at = @now, generation = @generation,
                session_started_at = s.started, latency_seconds = extract(epoch FROM (@now - s.started)),
                confirmations = 0, confirmed_at = NULL, confirmed_by = NULL
            FROM (SELECT max(started_at) AS started FROM tracking.sessions WHERE workspace_id = @workspaceId AND visitor_id = @visitorId) s
            WHERE l.workspace_id = @workspaceId AND l.visitor_id = @visitorId
            """, new
        {
            id = Guid.CreateVersion7(), workspaceId, visitorId, oldGeneration = old.Generation, oldContact = old.ContactId, oldMethod = old.Method,
            oldTrust = old.Trust, oldLinkedAt = old.LinkedAt, contactId, method, now, reason, generation,
        }, transaction);
        var sessions = await LinkSessionsAsync(transaction, workspaceId, visitorId, contactId, method, now);
        await messages.PublishAsync(new VisitorLinkedToContact(workspaceId, visitorId, contactId, method, new DateTimeOffset(now), generation, old.ContactId));
        return new LinkOutcome(Relinked, contactId, contactId, sessions);
    }

    /// <summary>Points every session of the visitor not yet linked to this contact at it (unlinked ones, or the replaced link's).</summary>
    private static Task<int> LinkSessionsAsync(NpgsqlTransaction transaction, Guid workspaceId, string visitorId, string contactId, string method, DateTime now) =>
        transaction.Connection!.ExecuteAsync("""
            UPDATE tracking.sessions SET contact_id = @contactId, linked_at = @now, link_method = @method
            WHERE workspace_id = @workspaceId AND visitor_id = @visitorId AND contact_id IS DISTINCT FROM @contactId
            """, new { workspaceId, visitorId, contactId, method, now }, transaction);

    private sealed record ExistingLink(string ContactId, string Method, string Trust, int Generation, DateTime LinkedAt);

    /// <summary>The phone is stored as PhoneNumbers.E164 ("+16505551234" however the CRM wrote it); text that is no phone number is kept as sent.</summary>
    public static Task UpsertContactAsync(
        NpgsqlTransaction transaction, Guid workspaceId, string contactId, string? email, string? phone, DateTime now, IReadOnlyList<string>? tags = null) =>
        transaction.Connection!.ExecuteAsync("""
            INSERT INTO tracking.contacts (workspace_id, id, email, phone, tags, created_at, updated_at) VALUES (@workspaceId, @contactId, @email, @phone, @tags, @now, @now)
            ON CONFLICT (workspace_id, id) DO UPDATE SET email = coalesce(EXCLUDED.email, contacts.email),
                phone = coalesce(EXCLUDED.phone, contacts.phone), tags = coalesce(EXCLUDED.tags, contacts.tags), updated_at = EXCLUDED.updated_at
            """, new { workspaceId, contactId, email, phone = PhoneNumbers.E164(phone) ?? phone, tags = tags?.ToArray(), now }, transaction);
}
