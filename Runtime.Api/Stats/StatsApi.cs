using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Runtime.Stats;

public sealed record DayCount(DateOnly Day, long Leads, long Converted);

public sealed record FunnelConversion(Guid FunnelId, string Name, string Slug, bool Live, long Leads, long Converted, decimal ConversionRate);

public sealed record LeadsOverview(int Days, long Leads, long Converted, IReadOnlyList<DayCount> PerDay, IReadOnlyList<FunnelConversion> Funnels);

/// <summary>The workspace's lead figures for the admin overview: leads per day and conversion by funnel.</summary>
public static class StatsApi
{
    public static void MapStatsApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/runtime/stats/overview", Overview)
            .WithTags("Stats").WithName("LeadsOverview")
            .WithSummary("Leads per day (UTC) over the last `days` days, and conversion by funnel")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);

    public static async Task<Results<Ok<LeadsOverview>, ValidationProblem>> Overview(ClaimsPrincipal user, NpgsqlDataSource db, int? days, CancellationToken ct)
    {
        var span = days ?? 14;
        if (span is < 1 or > 366)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["days"] = ["must be between 1 and 366"] });
        }
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var perDay = (await connection.QueryAsync<DayRow>("""
            SELECT to_char(d, 'YYYY-MM-DD') AS day,
                   count(l.id) AS leads,
                   count(l.id) FILTER (WHERE s.status = 'converted') AS converted
            FROM generate_series((now() AT TIME ZONE 'utc')::date - (@span - 1), (now() AT TIME ZONE 'utc')::date, interval '1 day') d
            LEFT JOIN runtime.leads l ON l.workspace_id = @workspace AND (l.created_at AT TIME ZONE 'utc')::date = d::date
            LEFT JOIN runtime.lead_states s ON s.lead_id = l.id
            GROUP BY d ORDER BY d
            """, new { workspace, span })).Select(r => new DayCount(DateOnly.ParseExact(r.Day, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), r.Leads, r.Converted)).ToList();
        var funnels = (await connection.QueryAsync<FunnelRow>("""
            SELECT f.id AS funnel_id, f.name, f.slug, f.live_publication_id IS NOT NULL AS live,
                   count(l.id) AS leads, count(l.id) FILTER (WHERE s.status = 'converted') AS converted
            FROM runtime.funnels f
            LEFT JOIN runtime.leads l ON l.funnel_id = f.id
            LEFT JOIN runtime.lead_states s ON s.lead_id = l.id
            WHERE f.workspace_id = @workspace
            GROUP BY f.id ORDER BY count(l.id) DESC, f.name LIMIT 50
            """, new { workspace }))
            .Select(r => new FunnelConversion(r.FunnelId, r.Name, r.Slug, r.Live, r.Leads, r.Converted,
                r.Leads == 0 ? 0m : Math.Round((decimal)r.Converted / r.Leads, 4))).ToList();
        var totals = await connection.QuerySingleAsync<(long Leads, long Converted)>("""
            SELECT count(*), count(*) FILTER (WHERE s.status = 'converted')
            FROM runtime.leads l JOIN runtime.lead_states s ON s.lead_id = l.id WHERE l.workspace_id = @workspace
            """, new { workspace });
        return TypedResults.Ok(new LeadsOverview(span, totals.Leads, totals.Converted, perDay, funnels));
    }

    // The day as ISO text: how Npgsql types a date column differs across versions, text does not.
    private sealed record DayRow(string Day, long Leads, long Converted);

    private sealed record FunnelRow(Guid FunnelId, string Name, string Slug, bool Live, long Leads, long Converted);
}
