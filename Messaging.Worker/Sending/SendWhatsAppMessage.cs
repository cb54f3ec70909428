using System.Text.Json;
using Dapper;
using Funnels.Messaging.Runs;
using Funnels.ServiceDefaults.Messaging;
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
/// per-number rate limit, and calls the Graph API. 2xx: sent, with Meta's wamid, and the run's
/// next queued message (if any) is queued in the same transaction, so a run's messages arrive in
/// step order. 4xx other than 429: the step failed for good (bad number, template not
/// approved...) and so does the run, without retry. 5xx, 429, timeouts: recorded, then thrown
/// for a durable retry. A number that is not (or no longer) one of the run's workspace's channels
/// fails the step and the run without calling the Graph API; the channel's own access token is used
/// when it has one.
/// </summary>
public static class SendWhatsAppMessageHandler
{
    private enum Outcome { Skipped, RateLimited, Sent, Failed, Retry }

    public static async Task Handle(
        SendWhatsAppMessage message, IMessageContext bus, Envelope envelope, NpgsqlDataSource dataSource, WhatsAppCloudClient graph, RateLimiter limiter,
        WhatsAppSendSettings settings, FlowMetrics metrics, ILogger<WhatsAppCloudClient> logger, CancellationToken cancellationToken)
    {
        string? failure = null;
        var outcome = await bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            // A run's next message is published only once the earlier one's send committed, so this
            // statement's snapshot already shows that one sent.
            var outbound = await connection.QuerySingleOrDefaultAsync<Outbound>("""
                SELECT o.id, o.run_id, o.step, o.phone_number_id, o.body::text AS body, o.status, o.attempts,
                       EXISTS (SELECT 1 FROM messaging.outbound_messages e WHERE e.run_id = o.run_id AND e.status = 'queued' AND e.step < o.step) AS earlier,
                       ch.workspace_id IS NOT DISTINCT FROM o.workspace_id AND ch.phone_number_id IS NOT NULL AS owned, ch.access_token
                FROM messaging.outbound_messages o LEFT JOIN messaging.whatsapp_channels ch ON ch.phone_number_id = o.phone_number_id
                WHERE o.id = @OutboundMessageId FOR UPDATE OF o
                """, message, transaction);
            if (outbound is not { Status: "queued", Earlier: false })
            {
                // Done already, or an earlier message of the run goes first (and queues this one after it).
                return Outcome.Skipped;
            }

            if (!outbound.Owned)
            {
                // Released, or never this workspace's: never sent in its name (nor with its token).
                var reason = $"step {outbound.Step}: phone-number id {outbound.PhoneNumberId} is not one of the workspace's WhatsApp channels";
                await connection.ExecuteAsync("""
                    UPDATE messaging.outbound_messages SET attempts = attempts + 1, last_error = @reason, status = 'failed' WHERE id = @Id;
                    UPDATE messaging.flow_runs SET status = 'failed', error = @reason, wait_kind = NULL, updated_at = now(), finished_at = now()
                    WHERE id = @RunId AND status IN ('running', 'waiting', 'completed');
                    """, new { outbound.Id, outbound.RunId, reason }, transaction);
                return Outcome.Failed;
            }

            var limit = await limiter.TryAcquireAsync($"whatsapp-send:{outbound.PhoneNumberId}", settings.SendsPerPhoneNumberPerSecond, TimeSpan.FromSeconds(1));
            if (!limit.Allowed)
            {
                await bus.ScheduleAsync(message, DateTimeOffset.UtcNow + limit.RetryAfter + TimeSpan.FromMilliseconds(Random.Shared.Next(50, 250)));
                return Outcome.RateLimited;
            }

            int? statusCode = null;
            string? error;
            string? wamid = null;
            try
            {
                using var body = JsonDocument.Parse(outbound.Body);
                var response = await graph.Api.SendMessageAsync(
                    outbound.PhoneNumberId, body.RootElement, graph.AuthorizationFor(outbound.PhoneNumberId, outbound.AccessToken), cancellationToken);
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
            if (sent)
            {
                // Under the run's lock: a stretch of the engine adding a message to this run either
                // commits before this query (and its message is found here) or sees this one sent.
                // One round trip, two statements: the second takes its snapshot once the lock is held.
                await using var batch = new NpgsqlBatch(connection, transaction)
                {
                    BatchCommands =
                    {
                        new NpgsqlBatchCommand("SELECT 1 FROM messaging.flow_runs WHERE id = $1 FOR UPDATE") { Parameters = { new() { Value = outbound.RunId } } },
                        new NpgsqlBatchCommand("SELECT id FROM messaging.outbound_messages WHERE run_id = $1 AND status = 'queued' AND step > $2 ORDER BY step LIMIT 1")
                        {
                            Parameters = { new() { Value = outbound.RunId }, new() { Value = outbound.Step } },
                        },
                    },
                };
                Guid? following;
                await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
                {
                    await reader.NextResultAsync(cancellationToken);
                    following = await reader.ReadAsync(cancellationToken) ? reader.GetGuid(0) : null;
                }
                if (following is { } id)
                {
                    await bus.PublishAsync(new SendWhatsAppMessage(id));
                }
                return Outcome.Sent;
            }
            if (permanent)
            {
                await connection.ExecuteAsync("""
                    UPDATE messaging.flow_runs SET status = 'failed', error = @reason, wait_kind = NULL, updated_at = now(), finished_at = now()
                    WHERE id = @RunId AND status IN ('running', 'waiting', 'completed')
                    """, new { outbound.RunId, reason = $"step {outbound.Step}: Meta refused the message ({statusCode}): {error}" }, transaction);
                return Outcome.Failed;
            }
            failure = $"Graph API send of outbound message {outbound.Id} failed ({statusCode?.ToString() ?? "no answer"}): {error}";
            return Outcome.Retry;
        }, cancellationToken);

        switch (outcome)
        {
            case Outcome.Sent: metrics.Sent("sent"); break;
            case Outcome.RateLimited: metrics.Sent("rate_limited"); break;
            case Outcome.Failed: metrics.Sent("failed"); metrics.RunFailed(); break;
            case Outcome.Retry:
                metrics.Sent("retrying");
                logger.LogWarning("{Failure} (attempt {Attempt}{Last})", failure, envelope.Attempts, envelope.Attempts > settings.Retries ? ", dead-lettering" : "");
                throw new GraphApiTransientException(failure!);
        }
    }

    private sealed record Outbound(Guid Id, Guid RunId, int Step, string PhoneNumberId, string Body, string Status, int Attempts, bool Earlier, bool Owned, string? AccessToken);
}
