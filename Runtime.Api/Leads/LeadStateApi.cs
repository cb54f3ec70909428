using Dapper;
using Funnels.Runtime.Events;
using Funnels.Runtime.Funnels;
using Funnels.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Funnels.Runtime.Leads;

/// <summary>What a lead token reads: where the lead is in its funnel, never who it is.</summary>
public sealed record PublicLeadState(Guid LeadId, PublicLeadState.Position State)
{
    public sealed record Position(string CurrentPageId, string Status, DateTime UpdatedAt);
}

/// <summary>
/// The anonymous read funnel frontends make of their own lead: <c>GET /api/runtime/leads/{id}/state</c>
/// with the 202's <c>lead_token</c> as <c>Authorization: Bearer</c> or <c>?lead_token=</c>. Rate limited
/// like the other public reads. The answer carries <c>Access-Control-Allow-Origin</c> only for an
/// origin the lead's funnel lists in <c>allowed_origins</c>: no other origin is ever echoed.
/// </summary>
public static class LeadStateApi
{
    public const string QueryParameter = "lead_token";

    public static void MapLeadStateApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<PublicLimits>();
        app.MapGet("/api/runtime/leads/{id:guid}/state", Get).WithTags("Leads").WithName("GetLeadState")
            .WithSummary("A lead's state (page, status, time), read with the lead_token of the events endpoint's 202")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimit(new RateLimit("lead-read", limits.LeadReadsPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
    }

    public static async Task<Results<Ok<PublicLeadState>, ProblemHttpResult, NotFound>> Get(
        Guid id, HttpContext http, LeadTokens tokens, NpgsqlDataSource db, CancellationToken ct)
    {
        // The token is checked before the database is asked: without one, nothing tells an existing lead from another.
        if (!tokens.Grants(TokenOf(http.Request), id))
        {
            return TypedResults.Problem("Send the lead_token of the events endpoint's answer for this lead, unexpired, as Authorization: Bearer or ?lead_token=.",
                title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
        }
        await using var connection = await db.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<StateRow>(new CommandDefinition("""
            SELECT s.current_page_id, s.status, s.updated_at, f.allowed_origins
            FROM runtime.lead_states s JOIN runtime.leads l ON l.id = s.lead_id JOIN runtime.funnels f ON f.id = l.funnel_id
            WHERE s.lead_id = @id
            """, new { id }, cancellationToken: ct));
        if (row is null)
        {
            return TypedResults.NotFound();
        }
        AllowListedOrigin(http, row.AllowedOrigins);
        return TypedResults.Ok(new PublicLeadState(id, new PublicLeadState.Position(row.CurrentPageId, row.Status, row.UpdatedAt)));
    }

    private static string? TokenOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        return request.Query[QueryParameter].ToString();
    }

    private static void AllowListedOrigin(HttpContext http, string[] allowed)
    {
        http.Response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && allowed.Contains(FunnelRequestValidation.Normalize(origin)))
        {
            http.Response.Headers.AccessControlAllowOrigin = origin;
        }
    }

    // Properties, not a positional record: Dapper hands a text[] to constructors as System.Array.
    private sealed class StateRow
    {
        public string CurrentPageId { get; init; } = "";
        public string Status { get; init; } = "";
        public DateTime UpdatedAt { get; init; }
        public string[] AllowedOrigins { get; init; } = [];
    }
}
