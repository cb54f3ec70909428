using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Linking;

/// <summary>What admins see of linking: the figures, the conflicts, a visitor's sessions.</summary>
public static class LinkingApi
{
    public static void MapLinkingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tracking").WithTags("Linking").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapGet("/linking/stats", Stats).WithName("LinkingStats")
            .WithSummary("Share of contacts with tracked sessions, and median / p95 seconds to link by method");
        api.MapGet("/linking/conflicts", Conflicts).WithName("LinkConflicts").WithSummary("Visitors claimed for a second contact, newest first, paged");
        api.MapGet("/visitors/{visitorId}/sessions", Sessions).WithName("VisitorSessions").WithSummary("A visitor's sessions and their links, newest first, paged");
        api.MapGet("/visitors/{visitorId}/link", Link).WithName("VisitorLink")
            .WithSummary("A visitor's link: contact, method, trust (signed or provisional) and every link it replaced, oldest first");
    }

    public sealed record ReplacedLink(
        int Generation, string ContactId, string Method, string Trust, DateTime LinkedAt,
        string ReplacedByContactId, string ReplacedByMethod, DateTime ReplacedAt, string Reason);

    public sealed record VisitorLink(
        string VisitorId, string ContactId, string Method, string Trust, int Generation, DateTime LinkedAt, int Confirmations,
        IReadOnlyList<ReplacedLink> History);

    public static async Task<Results<Ok<VisitorLink>, NotFound>> Link(string visitorId, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var link = await connection.QuerySingleOrDefaultAsync<(string ContactId, string Method, string Trust, int Generation, DateTime LinkedAt, int Confirmations)>("""
            SELECT contact_id, method, trust, generation, linked_at, confirmations FROM tracking.visitor_links
            WHERE workspace_id = @workspace AND visitor_id = @visitorId
            """, new { workspace, visitorId });
        if (link.ContactId is null)
        {
            return TypedResults.NotFound();
        }
        var history = await connection.QueryAsync<ReplacedLink>("""
            SELECT generation, contact_id, method, trust, linked_at, replaced_by_contact_id, replaced_by_method, replaced_at, reason
            FROM tracking.visitor_link_history WHERE workspace_id = @workspace AND visitor_id = @visitorId ORDER BY generation
            """, new { workspace, visitorId });
        return TypedResults.Ok(new VisitorLink(visitorId, link.ContactId, link.Method, link.Trust, link.Generation, link.LinkedAt, link.Confirmations, history.ToList()));
    }

    public sealed record MethodFigures(string Method, long Links, double? MedianSeconds, double? P95Seconds);

    public sealed record LinkingStats(long Contacts, long ContactsWithSessions, decimal LinkRate, long LinkedVisitors, long Confirmations, long Conflicts, IReadOnlyList<MethodFigures> ByMethod);

    public sealed record Conflict(Guid Id, string VisitorId, string LinkedContactId, string AttemptedContactId, string Method, DateTime OccurredAt);

    public sealed record Session(
        string Id, string VisitorId, DateTime StartedAt, DateTime LastSeenAt, int Events, string? LandingUrl, string? UtmSource, string? UtmCampaign,
        string? Ref, Guid? CampaignId, Guid? InfluencerId, string? ContactId, DateTime? LinkedAt, string? LinkMethod);

    public static async Task<Ok<LinkingStats>> Stats(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var totals = await connection.QuerySingleAsync<(long Contacts, long WithSessions, long Linked, long Confirmations, long Conflicts)>("""
            SELECT (SELECT count(*) FROM tracking.contacts WHERE workspace_id = @workspace),
                   (SELECT count(DISTINCT contact_id) FROM tracking.sessions WHERE workspace_id = @workspace AND contact_id IS NOT NULL),
                   (SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @workspace),
                   (SELECT coalesce(sum(confirmations), 0)::bigint FROM tracking.visitor_links WHERE workspace_id = @workspace),
                   (SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @workspace)
            """, new { workspace });
        var methods = await connection.QueryAsync<MethodFigures>("""
            SELECT method, count(*) AS links,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_seconds::float8) AS median_seconds,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_seconds::float8) AS p95_seconds
            FROM tracking.visitor_links WHERE workspace_id = @workspace GROUP BY method ORDER BY method
            """, new { workspace });
        var rate = totals.Contacts == 0 ? 0m : Math.Round((decimal)totals.WithSessions / totals.Contacts, 4);
        return TypedResults.Ok(new LinkingStats(totals.Contacts, totals.WithSessions, rate, totals.Linked, totals.Confirmations, totals.Conflicts, methods.ToList()));
    }

    public static async Task<Ok<PagedList<Conflict>>> Conflicts(
        ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Conflict>("""
            SELECT id, visitor_id, linked_contact_id, attempted_contact_id, method, occurred_at FROM tracking.link_conflicts
            WHERE workspace_id = @workspace ORDER BY occurred_at DESC, id LIMIT @Limit OFFSET @Offset
            """, new { workspace, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @workspace", new { workspace });
        return TypedResults.Ok(paging.Of(rows.ToList(), total));
    }

    public static async Task<Ok<PagedList<Session>>> Sessions(
        string visitorId, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Session>("""
            SELECT id, visitor_id, started_at, last_seen_at, events, landing_url, utm_source, utm_campaign, ref, campaign_id, influencer_id,
                   contact_id, linked_at, link_method
            FROM tracking.sessions WHERE workspace_id = @workspace AND visitor_id = @visitorId
            ORDER BY started_at DESC, id LIMIT @Limit OFFSET @Offset
            """, new { workspace, visitorId, paging.Limit, paging.Offset });
        var total = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @workspace AND visitor_id = @visitorId", new { workspace, visitorId });
        return TypedResults.Ok(paging.Of(rows.ToList(), total));
    }
}
