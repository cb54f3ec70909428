using System.Security.Claims;
using Dapper;
using Funnels.ServiceDefaults.Outbound;
using Funnels.ServiceDefaults.Security;
using Funnels.ServiceDefaults.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Messaging.Webhooks;

/// <summary>The workspace's webhook endpoints, their secrets, and every delivery attempt.</summary>
public static class WebhooksApi
{
    public static readonly IReadOnlySet<string> Events = new HashSet<string>([WebhookFanoutHandler.LeadCapturedEvent, WebhookFanoutHandler.LeadAdvancedEvent]);

    public static void MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/messaging/webhooks").WithTags("Webhooks").RequireAuthorization(AuthenticationExtensions.AdminPolicy);

        api.MapGet("/", List).WithName("ListWebhooks");
        api.MapPost("/", Create).WithName("CreateWebhook").WithSummary("A new endpoint; its signing secret is shown only in this answer")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapPut("/{id:guid}", Update).WithName("UpdateWebhook").WithSummary("Change an endpoint's URL, events or state (owner only: it decides where leads go)")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/{id:guid}", Delete).WithName("DeleteWebhook").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapPost("/{id:guid}/rotate-secret", RotateSecret).WithName("RotateWebhookSecret").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapGet("/{id:guid}/deliveries", Deliveries).WithName("ListWebhookDeliveries").WithSummary("Deliveries with their attempts, newest first, paged");
    }

    public sealed record WebhookRequest(string? Url, IReadOnlyList<string>? Events, bool? Active);

    public sealed record Webhook(Guid Id, string Url, string[] Events, bool Active, DateTime CreatedAt, string? Secret = null);

    public sealed record DeliveryAttempt(int Attempt, int? StatusCode, string? Error, int DurationMs, DateTime AttemptedAt);

    public sealed record Delivery(Guid Id, string EventType, string EventKey, string Status, int Attempts, DateTime CreatedAt, DateTime? DeliveredAt, IReadOnlyList<DeliveryAttempt> AttemptLog);

    public static async Task<Ok<IReadOnlyList<Webhook>>> List(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var hooks = await connection.QueryAsync<WebhookRow>(
            "SELECT id, url, events, active, created_at FROM messaging.webhook_endpoints WHERE workspace_id = @workspace ORDER BY created_at",
            new { workspace = user.WorkspaceIdOf() });
        return TypedResults.Ok<IReadOnlyList<Webhook>>(hooks.Select(h => h.ToWebhook()).ToList());
    }

    public static async Task<Results<Created<Webhook>, ValidationProblem>> Create(WebhookRequest request, ClaimsPrincipal user, NpgsqlDataSource db, OutboundPolicy policy, CancellationToken ct)
    {
        if (await CheckAsync(request, policy, ct) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        var hook = new Webhook(Guid.CreateVersion7(), request.Url!, request.Events!.Distinct().ToArray(), request.Active ?? true, DateTime.UtcNow, WebhookSignature.NewSecret());
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(
            "INSERT INTO messaging.webhook_endpoints (id, workspace_id, url, secret, events, active) VALUES (@Id, @workspace, @Url, @Secret, @Events, @Active)",
            new { hook.Id, workspace = user.WorkspaceIdOf(), hook.Url, hook.Secret, hook.Events, hook.Active });
        return TypedResults.Created($"/api/messaging/webhooks/{hook.Id}", hook);
    }

    public static async Task<Results<Ok<Webhook>, ValidationProblem, NotFound>> Update(Guid id, WebhookRequest request, ClaimsPrincipal user, NpgsqlDataSource db, OutboundPolicy policy, CancellationToken ct)
    {
        if (await CheckAsync(request, policy, ct) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        await using var connection = await db.OpenConnectionAsync(ct);
        var hook = await connection.QuerySingleOrDefaultAsync<WebhookRow>("""
            UPDATE messaging.webhook_endpoints SET url = @Url, events = @events, active = @active WHERE id = @id AND workspace_id = @workspace
            RETURNING id, url, events, active, created_at
            """, new { id, request.Url, events = request.Events!.Distinct().ToArray(), active = request.Active ?? true, workspace = user.WorkspaceIdOf() });
        return hook is null ? TypedResults.NotFound() : TypedResults.Ok(hook.ToWebhook());
    }

    public static async Task<Results<NoContent, NotFound>> Delete(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var deleted = await connection.ExecuteAsync("DELETE FROM messaging.webhook_endpoints WHERE id = @id AND workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() });
        return deleted == 1 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<Webhook>, NotFound>> RotateSecret(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var hook = await connection.QuerySingleOrDefaultAsync<WebhookRow>("""
            UPDATE messaging.webhook_endpoints SET secret = @secret WHERE id = @id AND workspace_id = @workspace
            RETURNING id, url, events, active, created_at, secret
            """, new { id, secret = WebhookSignature.NewSecret(), workspace = user.WorkspaceIdOf() });
        return hook is null ? TypedResults.NotFound() : TypedResults.Ok(hook.ToWebhook());
    }

    public static async Task<Results<Ok<PagedList<Delivery>>, NotFound>> Deliveries(
        Guid id, ClaimsPrincipal user, NpgsqlDataSource db, int? page, [FromQuery(Name = "page_size")] int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        if (!await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM messaging.webhook_endpoints WHERE id = @id AND workspace_id = @workspace)", new { id, workspace }))
        {
            return TypedResults.NotFound();
        }
        var rows = (await connection.QueryAsync<DeliveryRow>("""
            SELECT id, event_type, event_key, status, attempts, created_at, delivered_at FROM messaging.webhook_deliveries
            WHERE endpoint_id = @id ORDER BY created_at DESC, id LIMIT @Limit OFFSET @Offset
            """, new { id, paging.Limit, paging.Offset })).ToList();
        var attempts = (await connection.QueryAsync<AttemptRow>(
            "SELECT delivery_id, attempt, status_code, error, duration_ms, attempted_at FROM messaging.webhook_attempts WHERE delivery_id = ANY(@ids) ORDER BY attempt",
            new { ids = rows.Select(r => r.Id).ToArray() })).ToLookup(a => a.DeliveryId);
        var total = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM messaging.webhook_deliveries WHERE endpoint_id = @id", new { id });
        var items = rows.Select(r => new Delivery(r.Id, r.EventType, r.EventKey, r.Status, r.Attempts, r.CreatedAt, r.DeliveredAt,
            attempts[r.Id].Select(a => new DeliveryAttempt(a.Attempt, a.StatusCode, a.Error, a.DurationMs, a.AttemptedAt)).ToList())).ToList();
        return TypedResults.Ok(paging.Of(items, total));
    }

    private static async Task<Dictionary<string, string[]>> CheckAsync(WebhookRequest request, OutboundPolicy policy, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (await policy.CheckAsync(request.Url, ct) is { } refusal)
        {
            errors["url"] = [refusal];
        }
        if (request.Events is not { Count: > 0 } || request.Events.Any(e => !Events.Contains(e)))
        {
            errors["events"] = [$"must list one or more of {string.Join(", ", Events)}"];
        }
        return errors;
    }

    // Settable properties: Dapper's constructor matching cannot take text[] columns.
    private sealed class WebhookRow
    {
        public Guid Id { get; init; }
        public string Url { get; init; } = "";
        public string[] Events { get; init; } = [];
        public bool Active { get; init; }
        public DateTime CreatedAt { get; init; }
        public string? Secret { get; init; }

        public Webhook ToWebhook() => new(Id, Url, Events, Active, CreatedAt, Secret);
    }

    private sealed record DeliveryRow(Guid Id, string EventType, string EventKey, string Status, int Attempts, DateTime CreatedAt, DateTime? DeliveredAt);

    private sealed record AttemptRow(Guid DeliveryId, int Attempt, int? StatusCode, string? Error, int DurationMs, DateTime AttemptedAt);
}
