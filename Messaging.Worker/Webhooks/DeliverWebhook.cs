using System.Diagnostics;
using Dapper;
using Funnels.ServiceDefaults.Outbound;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Webhooks;

/// <summary>Send one recorded delivery to its endpoint.</summary>
public sealed record DeliverWebhook(Guid DeliveryId);

public sealed class WebhookDeliveryFailed(string message) : Exception(message);

/// <summary>The outbound policy refused the endpoint: no retry changes that, the message is dead-lettered at once.</summary>
public sealed class WebhookDeliveryRefused(string message) : Exception(message);

/// <summary>
/// POSTs the delivery's body, signed, and records the attempt whatever happens. A non-2xx answer
/// or a network error throws, so Wolverine schedules the next try (durably, with back-off from
/// "Webhooks:RetryDelays"); after the last one the message lands in the dead-letter store, from
/// which an admin can replay it. A delivery that already succeeded is never sent again.
/// </summary>
public static class DeliverWebhookHandler
{
    public static async Task Handle(
        DeliverWebhook message, Envelope envelope, NpgsqlDataSource dataSource, WebhookSender sender, WebhookSettings settings, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var delivery = await connection.QuerySingleOrDefaultAsync<Delivery>("""
            SELECT d.id, d.event_type, d.body, d.status, d.attempts, e.url, e.secret
            FROM messaging.webhook_deliveries d JOIN messaging.webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = @DeliveryId
            """, message);
        if (delivery is null or { Status: "delivered" })
        {
            return;
        }

        var attempt = delivery.Attempts + 1;
        var clock = Stopwatch.StartNew();
        var response = await sender.SendAsync(delivery.Url, delivery.Secret, delivery.Id, delivery.EventType, delivery.Body, cancellationToken);
        var statusCode = response.StatusCode;
        var error = response.Error ?? (response.Succeeded ? null : $"the endpoint answered {statusCode}");

        var delivered = error is null;
        var last = response.Refused || envelope.Attempts > settings.Retries;
        await connection.ExecuteAsync("""
            INSERT INTO messaging.webhook_attempts (id, delivery_id, attempt, status_code, error, duration_ms) VALUES (@id, @deliveryId, @attempt, @statusCode, @error, @ms);
            UPDATE messaging.webhook_deliveries SET attempts = @attempt, status = @status, delivered_at = CASE WHEN @delivered THEN now() END WHERE id = @deliveryId;
            """, new
        {
            id = Guid.CreateVersion7(), deliveryId = delivery.Id, attempt, statusCode, error, ms = (int)clock.ElapsedMilliseconds,
            status = delivered ? "delivered" : last ? "dead" : "failing", delivered,
        });
        if (response.Refused)
        {
            throw new WebhookDeliveryRefused($"Webhook delivery {delivery.Id} (attempt {attempt}): {error}");
        }
        if (!delivered)
        {
            throw new WebhookDeliveryFailed($"Webhook delivery {delivery.Id} to {LoggedUrl.Of(delivery.Url)} failed (attempt {attempt}): {error}");
        }
    }

    private sealed record Delivery(Guid Id, string EventType, string Body, string Status, int Attempts, string Url, string Secret);
}
