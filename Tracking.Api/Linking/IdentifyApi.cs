using Funnels.ServiceDefaults.Contacts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Web;
using Funnels.Tracking.Workspaces;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Linking;

/// <summary>
/// The fallback link path: t.js learned the contact id (an identify(contactId) call, or the CRM's
/// contact it found in storage) and reports it with the visitor id. Same linking as the webhook.
/// </summary>
public static class IdentifyApi
{
    public static void MapIdentifyApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        app.MapPost("/api/tracking/identify", Identify)
            .WithTags("Linking").WithName("Identify")
            .WithSummary("Link the visitor to the contact id the page learned")
            .Accepts<object>("application/json", "text/plain")
            .Produces<LinkOutcome>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireCors(TrackingLimits.CorsPolicy)
            .RequireRateLimit(new RateLimit("tracking-identify", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
    }

    public static async Task<IResult> Identify(
        HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, [FromServices] KnownWorkspaces workspaces,
        CancellationToken cancellationToken)
    {
        var (root, _, problem) = await JsonBody.ReadAsync(http.Request, 8 * 1024, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var errors = new Dictionary<string, string[]>();
        var fields = new FieldReader(root, "", errors);
        var workspace = fields.Guid("workspace_id", required: true);
        var visitor = fields.VisitorId("visitor_id", "tracking-identify", required: true);
        var contact = fields.Id("contact_id", required: true);
        if (contact is not null && VisitorIds.IsPlaceholder(contact))
        {
            fields.Fail("contact_id", "is a placeholder (\"null\", \"undefined\" ...), not a contact id");
        }
        if (errors.Count > 0)
        {
            return JsonBody.Invalid(errors);
        }
        if (!await workspaces.ContainsAsync(workspace!.Value, cancellationToken))
        {
            return KnownWorkspaces.Unknown("workspace_id");
        }

        var now = DateTime.UtcNow;
        var outcome = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            await LinkWriter.UpsertContactAsync(transaction, workspace!.Value, contact!, null, null, now);
            return await LinkWriter.LinkAsync(transaction, messages, workspace.Value, visitor!, contact!, LinkMethods.Identify, now);
        }, cancellationToken);
        return TypedResults.Accepted((string?)null, outcome);
    }
}
