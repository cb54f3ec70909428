using System.Diagnostics.Metrics;
using System.Text.Json;
using Funnels.Runtime.Funnels;
using Funnels.Runtime.Leads;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.Events;

/// <summary>
/// The public endpoint funnel frontends post to. Anonymous, rate limited per IP and per IP and
/// slug, CORS per funnel. A valid event is answered 202 only after its effects committed.
/// </summary>
public static class EventsApi
{
    public const string CorsPolicy = "public-events";

    public static void MapEventsApi(this IEndpointRouteBuilder app)
    {
        // Existing frontends post with a trailing slash; routing matches both spellings.
        app.MapPost("/api/runtime/events", Post)
            .WithTags("Public events")
            .WithName("PostEvent")
            .WithSummary("Record a PAGE_VIEW, FORM_SUBMIT, CLICK or PURCHASE for a published funnel")
            .Accepts<JsonElement>("application/json")
            .Produces<EventOutcome>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireCors(CorsPolicy);
    }

    public static async Task<IResult> Post(
        HttpContext http, [FromServices] PublishedFunnels funnels, [FromServices] RateLimiter limiter,
        [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, [FromServices] EventMetrics metrics,
        [FromServices] PublicLimits limits, [FromServices] LeadTokens tokens, [FromServices] ILogger<EventRequest> logger,
        CancellationToken cancellationToken)
    {
        // The body (at most 64 KiB) is read before the limits so that both, per address and per
        // address and slug, cost one Redis round trip; a bad body still counts against the first.
        var (request, problem) = await EventRequestReader.ReadAsync(http.Request, cancellationToken);
        var ip = RateLimitFilter.ClientIp(http);
        var perIp = new RateLimitKey($"events-ip:{ip}", limits.EventsPerIpPerMinute, TimeSpan.FromMinutes(1));
        var (limit, refused) = await limiter.TryAcquireAllAsync(request is null
            ? [perIp]
            : [perIp, new RateLimitKey($"events-slug:{ip}:{request.PublicationSlug}", limits.EventsPerIpAndSlugPerMinute, TimeSpan.FromMinutes(1))]);
        if (!limit.Allowed)
        {
            return RateLimitFilter.TooManyRequests(http, limit, refused == 0
                ? $"The limit of {limits.EventsPerIpPerMinute} requests per 60 s for 'events-ip' was reached"
                : $"Too many events for '{request!.PublicationSlug}' from this address");
        }
        if (request is null)
        {
            return problem!;
        }

        var publication = await funnels.FindLiveAsync(request.PublicationSlug, cancellationToken);
        if (publication is null)
        {
            return NotFound($"No published funnel has the slug '{request.PublicationSlug}'.");
        }
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && publication.AllowedOrigins.Length > 0 && !publication.AllowedOrigins.Contains(FunnelRequestValidation.Normalize(origin)))
        {
            return TypedResults.Problem($"The origin {origin} may not post events to '{request.PublicationSlug}'.", title: "Forbidden", statusCode: 403);
        }
        var page = publication.Schema.Page(request.PageId);
        if (page is null)
        {
            return NotFound($"Funnel '{request.PublicationSlug}' has no page '{request.PageId}'.");
        }

        var errors = FormValidator.Validate(request.EventType == FunnelEventTypes.FormSubmit ? page : page with { Fields = [] }, request.FormData);
        var identity = LeadIdentity.From(publication.Schema, request.FormData, request.VisitorId);
        if (errors.Count == 0 && request.EventType is FunnelEventTypes.FormSubmit or FunnelEventTypes.Purchase && !identity.IsKnown)
        {
            errors["payload.form_data"] = ["needs an email or phone field, or payload.visitor_id, to know whose lead this is"];
        }
        var idempotencyKey = http.Request.Headers[IdempotencyKeys.Header].ToString();
        if (idempotencyKey.Length > IdempotencyKeys.MaxLength)
        {
            errors[IdempotencyKeys.Header] = [$"must be at most {IdempotencyKeys.MaxLength} characters"];
        }
        if (errors.Count > 0)
        {
            metrics.Rejected(request.EventType);
            return EventRequestReader.Invalid(errors);
        }

        if (request.EventType == FunnelEventTypes.FormSubmit && BotCheck.LooksAutomated(publication.Schema, request) is { } reason)
        {
            // Answer like any other event so a bot learns nothing; keep nothing.
            logger.LogInformation("Dropped a submission to {Slug} as automated: {Reason}", request.PublicationSlug, reason);
            metrics.Recorded(request.EventType, LeadWriter.Ignored);
            return TypedResults.Accepted((string?)null, new EventOutcome(LeadWriter.Ignored, null, null));
        }

        IResult result;
        EventOutcome? outcome;
        try
        {
            (result, outcome) = await Apply(http, messages, dataSource, tokens, publication, request, identity, idempotencyKey, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // The funnel was deleted through another instance while this one still had it cached.
            funnels.Forget();
            return NotFound($"No published funnel has the slug '{request.PublicationSlug}'.");
        }

        // Counted once committed: a rolled-back event never happened.
        if (outcome is not null)
        {
            metrics.Recorded(request.EventType, outcome.Status);
        }
        return result;
    }

    private static Task<(IResult, EventOutcome?)> Apply(
        HttpContext http, IMessageContext messages, NpgsqlDataSource dataSource, LeadTokens tokens, LivePublication publication,
        EventRequest request, LeadIdentity identity, string idempotencyKey, CancellationToken cancellationToken)
    {
        var scope = $"events:{request.PublicationSlug}";
        var requestHash = IdempotencyKeys.HashOf(request.RawBody);
        return messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (idempotencyKey.Length > 0)
            {
                var (claimed, previous) = await IdempotencyKeys.ClaimAsync(transaction, scope, idempotencyKey, requestHash);
                if (!claimed)
                {
                    return (Replay(http, tokens, previous!, requestHash), (EventOutcome?)null);
                }
            }
            var outcome = await LeadWriter.ApplyAsync(transaction, messages, publication, request, identity, idempotencyKey.Length > 0 ? idempotencyKey : null, cancellationToken);
            if (idempotencyKey.Length > 0)
            {
                // Stored without its lead token: a replay is given a fresh one (Replay).
                await IdempotencyKeys.SaveAsync(transaction, scope, idempotencyKey, StatusCodes.Status202Accepted, JsonSerializer.Serialize(outcome, Json));
            }
            var answer = outcome.LeadId is { } id ? outcome with { LeadToken = tokens.Issue(id) } : outcome;
            return ((IResult)TypedResults.Accepted(outcome.LeadId is { } lead ? $"/api/runtime/leads/{lead}/state" : null, answer), (EventOutcome?)outcome);
        }, cancellationToken);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static IResult Replay(HttpContext http, LeadTokens tokens, StoredResponse previous, string requestHash)
    {
        if (previous.RequestHash != requestHash)
        {
            return TypedResults.Problem("This Idempotency-Key was already used with a different request body.",
                title: "Idempotency-Key reused", statusCode: StatusCodes.Status422UnprocessableEntity);
        }
        http.Response.Headers["Idempotent-Replayed"] = "true";
        var first = JsonSerializer.Deserialize<EventOutcome>(previous.Response, Json)!;
        var answer = first.LeadId is { } id ? first with { LeadToken = tokens.Issue(id) } : first;
        return TypedResults.Json(answer, Json, statusCode: previous.StatusCode);
    }

    private static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(detail, title: "Not found", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>Public rate limits ("RateLimits" configuration section), per minute.</summary>
public sealed class PublicLimits
{
    public int EventsPerIpPerMinute { get; set; } = 600;
    public int EventsPerIpAndSlugPerMinute { get; set; } = 120;
    public int LeadReadsPerIpPerMinute { get; set; } = 300;
    /// <summary>Every sign-in attempt per client address (Admin.Web forwards the browser's, signed).</summary>
    public int SignInsPerIpPerMinute { get; set; } = 30;

    /// <summary>Wrong passwords per account and client address: one guesser locks out only themselves.</summary>
    public int FailedSignInsPerAccountAndIpPerMinute { get; set; } = 10;

    /// <summary>Wrong passwords per account from all addresses together: a distributed guess.</summary>
    public int FailedSignInsPerAccountPerMinute { get; set; } = 100;
}

/// <summary>Cheap bot defence: a filled honeypot field, or a form submitted faster than a person could.</summary>
public static class BotCheck
{
    public static string? LooksAutomated(FunnelSchema schema, EventRequest request)
    {
        if (schema.HoneypotField is { } honeypot && request.FormData.TryGetProperty(honeypot, out var trap)
            && !(trap.ValueKind is JsonValueKind.Null || (trap.ValueKind == JsonValueKind.String && trap.GetString()!.Length == 0)))
        {
            return $"honeypot field '{honeypot}' was filled";
        }
        if (schema.MinFillSeconds > 0 && request.FormStartedAt is { } started
            && DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(schema.MinFillSeconds))
        {
            return $"filled in under {schema.MinFillSeconds} s";
        }
        return null;
    }
}

/// <summary>Counts of public events by type and outcome.</summary>
public sealed class EventMetrics(IMeterFactory meters)
{
    private readonly Counter<long> _events = meters.Create("Funnels.Runtime").CreateCounter<long>("funnels.events", description: "Public funnel events by type and outcome");

    public void Recorded(string eventType, string status) =>
        _events.Add(1, new("event_type", eventType), new("status", status));

    public void Rejected(string eventType) => Recorded(eventType, "rejected");
}
