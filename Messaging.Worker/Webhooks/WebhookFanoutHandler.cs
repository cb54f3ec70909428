using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Webhooks;

/// <summary>
/// Turns a lead event into one recorded delivery per subscribed endpoint of its workspace, and
/// a DeliverWebhook message for each, in one outbox transaction. The unique (endpoint, event,
/// key) row makes a repeated event a no-op. LeadCaptured is handled by LeadCapturedHandler,
/// which calls <see cref="FanOutAsync"/> in its own transaction.
/// </summary>
public static class WebhookFanoutHandler
{
    public const string LeadCapturedEvent = "lead.captured";
    public const string LeadAdvancedEvent = "lead.advanced";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Task Handle(LeadAdvanced message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource,
            transaction => FanOutAsync(transaction, context, message.WorkspaceId, LeadAdvancedEvent, $"{message.LeadId}:{message.StateVersion}", message),
            cancellationToken);

    /// <summary>Records the deliveries of one event inside the caller's outbox transaction.</summary>
    public static async Task FanOutAsync<T>(NpgsqlTransaction transaction, IMessageContext context, Guid workspaceId, string eventType, string eventKey, T data)
    {
        var body = JsonSerializer.Serialize(new { @event = eventType, occurred_at = DateTimeOffset.UtcNow, data }, Json);
        var deliveries = await transaction.Connection!.QueryAsync<Guid>("""
            INSERT INTO messaging.webhook_deliveries (id, endpoint_id, workspace_id, event_type, event_key, body)
            SELECT gen_random_uuid(), e.id, e.workspace_id, @eventType, @eventKey, @body
            FROM messaging.webhook_endpoints e WHERE e.workspace_id = @workspaceId AND e.active AND @eventType = ANY (e.events)
            ON CONFLICT (endpoint_id, event_type, event_key) DO NOTHING
            RETURNING id
            """, new { workspaceId, eventType, eventKey, body }, transaction);
        foreach (var delivery in deliveries)
        {
            await context.PublishAsync(new DeliverWebhook(delivery));
        }
    }
}
