using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.Runtime.Funnels;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.Events;

/// <summary>
/// The 202 of the events endpoint. <c>LeadToken</c> (added by the endpoint, never stored) lets the
/// frontend read the lead's state, and nothing else, for a day (Leads/LeadTokens).
/// </summary>
public sealed record EventOutcome(string Status, Guid? LeadId, string? NextPageId, string? LeadToken = null);

/// <summary>
/// Applies one accepted event to its lead inside the caller's outbox transaction: the lead,
/// its state, the audit event and the integration message commit together or not at all.
/// Submissions of one person are serialised by transaction-scoped advisory locks on each of
/// their identity values, so fifty identical submissions raced together make one lead.
/// </summary>
public static class LeadWriter
{
    public const string Created = "created";
    public const string Updated = "updated";
    public const string Ignored = "ignored";

    public static async Task<EventOutcome> ApplyAsync(
        NpgsqlTransaction transaction, IMessageContext messages, LivePublication publication, EventRequest request,
        LeadIdentity identity, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var lead = await LockAndFindAsync(transaction, publication.WorkspaceId, identity);
        var createsLeads = request.EventType is FunnelEventTypes.FormSubmit or FunnelEventTypes.Purchase;
        if (lead is null && !createsLeads)
        {
            // A page view or click of someone who is not a lead yet: nothing to attach it to.
            return new EventOutcome(Ignored, null, null);
        }

        var now = DateTime.UtcNow;
        var formData = request.FormData.GetRawText();
        if (lead is null)
        {
            var schema = publication.Schema;
            var next = Navigation.Next(schema, request.PageId, request.EventType, request.FormData);
            var page = next?.To ?? request.PageId;
            var status = Navigation.Converts(schema, request.EventType, page) ? "converted" : "active";
            var id = Guid.NewGuid(); // random, not time-ordered: the id is what a frontend reads the lead by
            // One round trip: the lead, its state and its audit event.
            await connection.ExecuteAsync("""
                INSERT INTO runtime.leads (id, workspace_id, funnel_id, publication_id, identity_key, email, phone, visitor_id, form_data, created_at)
                VALUES (@id, @WorkspaceId, @FunnelId, @PublicationId, @identityKey, @Email, @Phone, @VisitorId, @formData::jsonb, @now);
                INSERT INTO runtime.lead_states (lead_id, current_page_id, status, version, updated_at) VALUES (@id, @toPage, @toStatus, @version, @now);
                """ + InsertEvent, EventParameters(new
            {
                id, publication.FunnelId, identityKey = identity.Keys().First(), identity.Email, identity.Phone, identity.VisitorId, formData,
            }, publication, request, null, page, null, status, 1, idempotencyKey, now), transaction);
            await messages.PublishAsync(new LeadCaptured(id, publication.WorkspaceId, publication.FunnelId, publication.PublicationId,
                page, identity.Email, identity.Phone, identity.VisitorId, request.FormData.Clone(), now));
            return new EventOutcome(Created, id, next?.To);
        }

        // An existing lead follows the publication it entered with; events from another funnel are recorded only.
        var sameFunnel = lead.FunnelId == publication.FunnelId;
        var leadSchema = sameFunnel ? await PublishedFunnels.SchemaAsync(connection, lead.PublicationId, cancellationToken) : null;
        var transition = leadSchema is null || leadSchema.Page(request.PageId) is null
            ? null
            : Navigation.Next(leadSchema, request.PageId, request.EventType, request.FormData);
        var toPage = leadSchema?.Page(request.PageId) is null ? lead.CurrentPageId : transition?.To ?? request.PageId;
        var toStatus = lead.Status == "converted" || (leadSchema is not null && Navigation.Converts(leadSchema, request.EventType, toPage))
            ? "converted" : "active";
        var changed = toPage != lead.CurrentPageId || toStatus != lead.Status;
        var version = changed ? lead.Version + 1 : lead.Version;

        await connection.ExecuteAsync("""
            UPDATE runtime.leads SET email = coalesce(email, @Email), phone = coalesce(phone, @Phone),
                visitor_id = coalesce(visitor_id, @VisitorId), form_data = form_data || @formData::jsonb WHERE id = @id;
            UPDATE runtime.lead_states SET current_page_id = @toPage, status = @toStatus, version = @version, updated_at = @now WHERE lead_id = @id;
            """ + InsertEvent, EventParameters(new { id = lead.Id, identity.Email, identity.Phone, identity.VisitorId, formData },
            publication, request, lead.CurrentPageId, toPage, lead.Status, toStatus, version, idempotencyKey, now), transaction);
        if (changed)
        {
            await messages.PublishAsync(new LeadAdvanced(lead.Id, publication.WorkspaceId, lead.FunnelId, lead.CurrentPageId, toPage, toStatus, version, now));
        }
        return new EventOutcome(Updated, lead.Id, transition?.To);
    }

    /// <summary>
    /// Takes the advisory lock of each identity value (in one order everywhere, so two submissions
    /// never wait on each other crosswise), then reads the leads those values match, in one round trip.
    /// </summary>
    private static async Task<ExistingLead?> LockAndFindAsync(NpgsqlTransaction transaction, Guid workspaceId, LeadIdentity identity)
    {
        var keys = identity.Keys().Order(StringComparer.Ordinal).Select(key => $"lead:{workspaceId}:{key}").ToArray();
        await using var results = await transaction.Connection!.QueryMultipleAsync("""
            SELECT count(*) FROM (
                SELECT pg_advisory_xact_lock(hashtextextended(k.key, 0)) FROM unnest(@keys::text[]) WITH ORDINALITY AS k(key, n) ORDER BY k.n) AS locked;
            SELECT l.id, l.funnel_id, l.publication_id, l.email, l.phone, l.visitor_id, s.current_page_id, s.status, s.version, l.created_at
            FROM runtime.leads l JOIN runtime.lead_states s ON s.lead_id = l.id
            WHERE l.workspace_id = @workspaceId AND (l.email = @Email OR l.phone = @Phone OR l.visitor_id = @VisitorId)
            ORDER BY l.created_at, l.id
            FOR UPDATE OF s
            """, new { keys, workspaceId, identity.Email, identity.Phone, identity.VisitorId }, transaction);
        await results.ReadSingleAsync<long>();
        var candidates = (await results.ReadAsync<ExistingLead>()).ToList();

        // The strongest identity wins; a weaker one only matches a lead that does not contradict it.
        bool Compatible(ExistingLead l) => (l.Email is null || identity.Email is null || l.Email == identity.Email)
            && (l.Phone is null || identity.Phone is null || l.Phone == identity.Phone);
        return candidates.FirstOrDefault(l => identity.Email is not null && l.Email == identity.Email)
            ?? candidates.FirstOrDefault(l => identity.Phone is not null && l.Phone == identity.Phone && Compatible(l))
            ?? candidates.Where(l => identity.VisitorId is not null && l.VisitorId == identity.VisitorId && Compatible(l))
                .OrderByDescending(l => l.CreatedAt).FirstOrDefault();
    }

    // The audit event, appended to the statements that change the lead (their parameters: @id is the lead).
    private const string InsertEvent = """

        INSERT INTO runtime.lead_events (id, lead_id, workspace_id, publication_id, event_type, page_id, payload,
            from_page_id, to_page_id, from_status, to_status, state_version, idempotency_key, occurred_at)
        VALUES (@eventId, @id, @WorkspaceId, @PublicationId, @EventType, @PageId, @payload::jsonb,
            @fromPage, @toPage, @fromStatus, @toStatus, @version, @idempotencyKey, @now)
        """;

    private static DynamicParameters EventParameters(
        object lead, LivePublication publication, EventRequest request,
        string? fromPage, string toPage, string? fromStatus, string toStatus, long version, string? idempotencyKey, DateTime now)
    {
        var parameters = new DynamicParameters(lead);
        parameters.AddDynamicParams(new
        {
            eventId = Guid.CreateVersion7(), publication.WorkspaceId, publication.PublicationId, request.EventType, request.PageId,
            payload = Payload(request), fromPage, toPage, fromStatus, toStatus, version, idempotencyKey, now,
        });
        return parameters;
    }

    private static string Payload(EventRequest request) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["page_id"] = request.PageId,
        ["form_data"] = request.FormData,
        ["visitor_id"] = request.VisitorId,
        ["amount"] = request.Amount?.Amount,
        ["currency"] = request.Amount?.Currency,
    });

    private sealed record ExistingLead(
        Guid Id, Guid FunnelId, Guid PublicationId, string? Email, string? Phone, string? VisitorId,
        string CurrentPageId, string Status, long Version, DateTime CreatedAt);
}
