using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Runtime.Leads;

public sealed record LeadState(string CurrentPageId, string Status, long Version, DateTime UpdatedAt);

/// <summary>A lead as admins see it: also who it is and which publication it entered with.</summary>
public sealed record Lead(
    Guid Id, Guid FunnelId, JsonElement FormData, DateTime CreatedAt, LeadState State,
    Guid PublicationId, int PublicationVersion, string? Email, string? Phone, string? VisitorId, string? ContactId);

public sealed record LeadEvent(
    Guid Id, string EventType, string PageId, JsonElement Payload, string? FromPageId, string? ToPageId,
    string? FromStatus, string? ToStatus, long StateVersion, string? IdempotencyKey, DateTime OccurredAt);

public static class LeadsApi
{
    public static void MapLeadsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/runtime/leads").WithTags("Leads");

        // A lead is personal data: only an admin of its workspace reads it (another workspace's is
        // 404), and no CORS policy applies, so no origin is ever echoed. Frontends read their own
        // lead's state with the lead token of the events endpoint's 202 (LeadStateApi).
        api.MapGet("/{id:guid}", Get).WithName("GetLead").WithSummary("A lead of the workspace with its state and form data")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/{id:guid}/events", Events).WithName("GetLeadEvents").WithSummary("The lead's timeline: every event and the transition it caused")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/", Search).WithName("SearchLeads").WithSummary("Leads of the workspace by email, phone, funnel or status, newest first, paged")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        app.MapGet("/api/runtime/funnels/{id:guid}/leads.csv", LeadsCsv.Export).WithTags("Leads").WithName("ExportLeadsCsv")
            .WithSummary("Every lead of a funnel as CSV, streamed").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
    }

    public static async Task<Results<Ok<Lead>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<LeadRow>(new CommandDefinition(
            $"{LeadRow.Select} WHERE l.id = @id AND l.workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() }, cancellationToken: ct));
        return row is null ? TypedResults.NotFound() : TypedResults.Ok(row.ToLead());
    }

    public static async Task<Results<Ok<IReadOnlyList<LeadEvent>>, NotFound>> Events(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var exists = await connection.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM runtime.leads WHERE id = @id AND workspace_id = @workspace)", new { id, workspace = user.WorkspaceIdOf() });
        if (!exists) return TypedResults.NotFound();
        var rows = await connection.QueryAsync<EventRow>("""
            SELECT id, event_type, page_id, payload::text AS payload, from_page_id, to_page_id, from_status, to_status,
                   state_version, idempotency_key, occurred_at
            FROM runtime.lead_events WHERE lead_id = @id ORDER BY occurred_at, id
            """, new { id });
        return TypedResults.Ok<IReadOnlyList<LeadEvent>>(rows.Select(r => r.ToEvent()).ToList());
    }

    public static async Task<Results<Ok<PagedList<Lead>>, ValidationProblem>> Search(
        ClaimsPrincipal user, NpgsqlDataSource db, string? email, string? phone, [FromQuery(Name = "funnel_id")] Guid? funnelId, string? status,
        int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        if (status is not (null or "active" or "converted" or "lost"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = ["must be active, converted or lost"] });
        }
        var paging = Paging.From(page, pageSize);
        var filter = new
        {
            workspace = user.WorkspaceIdOf(),
            email = email is null ? null : Funnels.LeadIdentity.NormalizeEmail(email) ?? email.Trim().ToLowerInvariant(),
            phone = phone is null ? null : Funnels.LeadIdentity.NormalizePhone(phone) ?? phone,
            funnelId, status, paging.Limit, paging.Offset,
        };
        const string where = """
            WHERE l.workspace_id = @workspace AND (@email::text IS NULL OR l.email = @email) AND (@phone::text IS NULL OR l.phone = @phone)
              AND (@funnelId::uuid IS NULL OR l.funnel_id = @funnelId) AND (@status::text IS NULL OR s.status = @status)
            """;
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<LeadRow>($"{LeadRow.Select} {where} ORDER BY l.created_at DESC, l.id LIMIT @Limit OFFSET @Offset", filter);
        var total = await connection.ExecuteScalarAsync<long>(
            $"SELECT count(*) FROM runtime.leads l JOIN runtime.lead_states s ON s.lead_id = l.id {where}", filter);
        return TypedResults.Ok(paging.Of(rows.Select(r => r.ToLead()).ToList(), total));
    }

    internal sealed record LeadRow(
        Guid Id, Guid FunnelId, string FormData, DateTime CreatedAt, string CurrentPageId, string Status, long Version, DateTime UpdatedAt,
        Guid PublicationId, int PublicationVersion, string? Email, string? Phone, string? VisitorId, string? ContactId)
    {
        public const string Select = """
            SELECT l.id, l.funnel_id, l.form_data::text AS form_data, l.created_at, s.current_page_id, s.status, s.version, s.updated_at,
                   l.publication_id, p.version AS publication_version, l.email, l.phone, l.visitor_id, l.contact_id
            FROM runtime.leads l JOIN runtime.lead_states s ON s.lead_id = l.id JOIN runtime.publications p ON p.id = l.publication_id
            """;

        public Lead ToLead() => new(Id, FunnelId, JsonDocument.Parse(FormData).RootElement, CreatedAt, new LeadState(CurrentPageId, Status, Version, UpdatedAt),
            PublicationId, PublicationVersion, Email, Phone, VisitorId, ContactId);
    }

    private sealed record EventRow(
        Guid Id, string EventType, string PageId, string Payload, string? FromPageId, string? ToPageId,
        string? FromStatus, string? ToStatus, long StateVersion, string? IdempotencyKey, DateTime OccurredAt)
    {
        public LeadEvent ToEvent() => new(Id, EventType, PageId, JsonDocument.Parse(Payload).RootElement, FromPageId, ToPageId,
            FromStatus, ToStatus, StateVersion, IdempotencyKey, OccurredAt);
    }
}
