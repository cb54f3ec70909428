using Funnels.ServiceDefaults.RateLimiting;
using Funnels.Tracking.Web;
using Funnels.Tracking.Workspaces;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Collect;

public sealed record CollectOutcome(int Accepted, int Recorded, bool Linked);

/// <summary>The public endpoint t.js posts page views and custom events to (beacons included).</summary>
public static class CollectApi
{
    public static void MapCollectApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        app.MapPost("/api/tracking/collect", Collect)
            .WithTags("Tracking").WithName("Collect")
            .WithSummary("Record one page view or custom event, or a batch of up to 100, for a visitor's session")
            .Accepts<object>("application/json", "text/plain")
            .Produces<CollectOutcome>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireCors(TrackingLimits.CorsPolicy)
            .RequireRateLimit(new RateLimit("tracking-collect", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
    }

    public static async Task<IResult> Collect(
        HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] KnownWorkspaces workspaces,
        [FromServices] CollectMetrics metrics, CancellationToken cancellationToken)
    {
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, CollectRequestParser.MaxBodyBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var now = DateTime.UtcNow;
        var (request, errors) = CollectRequestParser.Parse(root, now);
        if (request is null)
        {
            return JsonBody.Invalid(errors);
        }
        if (!await workspaces.ContainsAsync(request.WorkspaceId, cancellationToken))
        {
            return KnownWorkspaces.Unknown("workspace_id");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var written = await SessionWriter.WriteAsync(transaction, request, now);
        await transaction.CommitAsync(cancellationToken);
        metrics.Count(written);
        return TypedResults.Accepted((string?)null, new CollectOutcome(request.Events.Count, written.Events, written.Linked));
    }
}

/// <summary>Public limits of Tracking.Api ("RateLimits" configuration section), per minute and IP.</summary>
public sealed class TrackingLimits
{
    public const string CorsPolicy = "public-tracking";

    public int TrackingPerIpPerMinute { get; set; } = 1200;
}
