using Dapper;
using Funnels.Runtime.Events;
using Funnels.Runtime.Funnels;
using Funnels.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
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
/// like the other public reads. CORS (the answer and its preflight) allows only the origins the
/// lead's funnel lists in <c>allowed_origins</c> (<see cref="LeadStateCorsPolicyProvider"/>): no other
/// origin is ever echoed.
/// </summary>
public static class LeadStateApi
{
    public const string QueryParameter = "lead_token";
    public const string CorsPolicy = "lead-state";

    public static void MapLeadStateApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<PublicLimits>();
        app.MapGet("/api/runtime/leads/{id:guid}/state", Get).WithTags("Leads").WithName("GetLeadState")
            .WithSummary("A lead's state (page, status, time), read with the lead_token of the events endpoint's 202")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireCors(CorsPolicy)
            .RequireRateLimit(new RateLimit("lead-read", limits.LeadReadsPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
    }

    public static async Task<Results<Ok<PublicLeadState>, ProblemHttpResult, NotFound>> Get(
        Guid id, HttpContext http, LeadTokens tokens, NpgsqlDataSource db, CancellationToken ct)
    {
        // The token is checked before the state is read: without one, the answer does not tell an existing lead from another.
        if (!tokens.Grants(TokenOf(http.Request), id))
        {
            return TypedResults.Problem("Send the lead_token of the events endpoint's answer for this lead, unexpired, as Authorization: Bearer or ?lead_token=.",
                title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
        }
        await using var connection = await db.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<StateRow>(new CommandDefinition("""
            SELECT current_page_id, status, updated_at FROM runtime.lead_states WHERE lead_id = @id
            """, new { id }, cancellationToken: ct));
        if (row is null)
        {
            return TypedResults.NotFound();
        }
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

    private sealed record StateRow(string CurrentPageId, string Status, DateTime UpdatedAt);
}

/// <summary>
/// CORS of the lead-state read, per lead: the origins its funnel lists in <c>allowed_origins</c>,
/// GET with an Authorization header. A funnel with an empty list (or an unknown lead) allows no
/// origin here, although it accepts events from any. Every other policy is the default provider's.
/// </summary>
public sealed class LeadStateCorsPolicyProvider(IOptions<CorsOptions> options, NpgsqlDataSource db) : ICorsPolicyProvider
{
    private readonly DefaultCorsPolicyProvider _default = new(options);

    public async Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName)
    {
        if (policyName != LeadStateApi.CorsPolicy)
        {
            return await _default.GetPolicyAsync(context, policyName);
        }
        var origins = Array.Empty<string>();
        if (context.Request.RouteValues.TryGetValue("id", out var value) && Guid.TryParse(value?.ToString(), out var id)
            && context.Request.Headers.Origin.ToString() is { Length: > 0 })
        {
            await using var connection = await db.OpenConnectionAsync(context.RequestAborted);
            origins = await connection.ExecuteScalarAsync<string[]>(new CommandDefinition("""
                SELECT f.allowed_origins FROM runtime.leads l JOIN runtime.funnels f ON f.id = l.funnel_id WHERE l.id = @id
                """, new { id }, cancellationToken: context.RequestAborted)) ?? [];
        }
        var allowed = origins.ToHashSet(StringComparer.Ordinal);
        return new CorsPolicyBuilder()
            .SetIsOriginAllowed(origin => allowed.Contains(FunnelRequestValidation.Normalize(origin)))
            .WithMethods("GET")
            .WithHeaders("Authorization")
            .WithExposedHeaders("Retry-After")
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))
            .Build();
    }
}
