using System.Text.Json;
using Dapper;
using Funnels.Messaging.Runs;
using Funnels.ServiceDefaults.RateLimiting;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Sending;

/// <summary>Send one outbound message a flow step queued (its row is keyed by run and step).</summary>
public sealed record SendWhatsAppMessage(Guid OutboundMessageId);

/// <summary>Meta answered 5xx or 429, or did not answer: Wolverine retries with back-off, then dead-letters.</summary>
public sealed class GraphApiTransientException(string message) : Exception(message);

/// <summary>
/// Claims the outbound row (row lock; a sent or failed row is never sent again), respects the
/// per-number rate limit, and calls the Graph API. 2xx: sent, with Meta's wamid. 4xx other than
/// 429: the step failed for good (bad number, template not approved...) and so does the run,
/// without retry. 5xx, 429, timeouts: recorded, then thrown for a durable retry.
/// </summary>
public static class SendWhatsAppMessageHandler
{
    public static async Task Handle(
        SendWhatsAppMessage message, IMessageContext bus, Envelope envelope, NpgsqlDataSource dataSource, WhatsAppCloudClient graph, RateLimiter limiter,
        WhatsAppSendSettings settings, FlowMetrics metrics, ILogger<WhatsAppCloudClient> logger, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var outbound = await connection.QuerySingleOrDefaultAsync<Outbound>(
            "SELECT id, run_id, step, phone_number_id, body::text AS body, status, attempts FROM messaging.outbound_messages WHERE id = @OutboundMessageId FOR UPDATE",
            message, transaction);
        if (outbound is not { Status: "queued" })
        {
            return;
        }

        var limit = await limiter.TryAcquireAsync($"whatsapp-send:{outbound.PhoneNumberId}", settings.SendsPerPhoneNumberPerSecond, TimeSpan.FromSeconds(1));
        if (!limit.Allowed)
        {
            await transaction.RollbackAsync(cancellationToken);
            metrics.Sent("rate_limited");
            await bus.ScheduleAsync(message, DateTimeOffset.UtcNow + limit.RetryAfter + TimeSpan.FromMilliseconds(Random.Shared.Next(50, 250)));
            return;
        }

        int? statusCode = null;
        string? error;
        string? wamid = null;
        try
        {
            using var body = JsonDocument.Parse(outbound.Body);
            var response = await graph.Api.SendMessageAsync(outbound.PhoneNumberId, body.RootElement, cancellationToken);
            statusCode = response.StatusCode is { } code ? (int)code : null;
            wamid = response.IsSuccessStatusCode ? response.Content?.Messages?.FirstOrDefault()?.Id : null;
            error = response.IsSuccessStatusCode ? null : (response.Error as Refit.ApiException)?.Content ?? response.Error?.Message ?? response.ReasonPhrase;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            error = ex is TaskCanceledException ? $"no answer within {settings.TimeoutSeconds} s" : ex.Message;
        }

        var sent = statusCode is >= 200 and < 300;
        var permanent = statusCode is >= 400 and < 500 and not 429;
        await connection.ExecuteAsync("""
            UPDATE messaging.outbound_messages SET attempts = attempts + 1, last_status_code = @statusCode, last_error = @error, wamid = @wamid,
                status = @status, sent_at = CASE WHEN @sent THEN now() END
            WHERE id = @Id
            """, new { outbound.Id, statusCode, error, wamid, sent, status = sent ? "sent" : permanent ? "failed" : "queued" }, transaction);
        if (permanent)
        {
            await connection.ExecuteAsync("""
                UPDATE messaging.flow_runs SET status = 'failed', error = @reason, updated_at = now(), finished_at = now()
                WHERE id = @RunId AND status IN ('running', 'waiting', 'completed')
                """, new { outbound.RunId, reason = $"step {outbound.Step}: Meta refused the message ({statusCode}): {error}" }, transaction);
            metrics.RunFailed();
        }
        await transaction.CommitAsync(cancellationToken);
        metrics.Sent(sent ? "sent" : permanent ? "failed" : "retrying");

        if (!sent && !permanent)
        {
            var last = envelope.Attempts > settings.Retries;
            logger.LogWarning("Sending outbound message {Id} failed (attempt {Attempt}{Last}): {Status} {Error}",
                outbound.Id, envelope.Attempts, last ? ", dead-lettering" : "", statusCode, error);
            throw new GraphApiTransientException($"Graph API send of outbound message {outbound.Id} failed ({statusCode?.ToString() ?? "no answer"}): {error}");
        }
    }

    private sealed record Outbound(Guid Id, Guid RunId, int Step, string PhoneNumberId, string Body, string Status, int Attempts);
}
