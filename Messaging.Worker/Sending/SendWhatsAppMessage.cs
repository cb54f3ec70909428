using System.Text.Json;
using Dapper;
using Funnels.Messaging.Runs;
using Funnels.Messaging.WhatsApp;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Sending;

/// <summary>Send one outbound message a flow step queued (its row is keyed by run and step).</summary>
public sealed record SendWhatsAppMessage(Guid OutboundMessageId);

/// <summary>Meta is unwell (a transient code, 5xx without a known code) or did not answer: Wolverine retries with back-off, then dead-letters.</summary>
public sealed class GraphApiTransientException(string message) : Exception(message);

/// <summary>Meta kept throttling one send past WhatsApp:ThrottleRetries: dead-lettered at once (its waits were the back-off).</summary>
public sealed class GraphApiThrottledException(string message) : Exception(message);

/// <summary>
/// Claims the outbound row (row lock; a sent or failed row is never sent again), respects the
/// per-number rate limit, a paused channel and Meta's pair rate limit on the recipient, and calls the
/// Graph API. Success: sent, with Meta's wamid, and the run's next queued message (if any) is queued
/// in the same transaction, so a run's messages arrive in step order; the run's state follows
/// (<see cref="RunStates"/>). A refusal is decided by Meta's error code (<see cref="GraphErrorCodes"/>):
/// throttled sends are rescheduled with back-off and jitter, transient ones thrown for Wolverine's
/// durable retries then the dead letters, permanent ones fail the message and its run at once, and an
/// invalid token pauses the channel with its messages still queued. A number that is not (or no longer)
/// one of the run's workspace's channels fails the step and the run without calling the Graph API.
/// </summary>
public static class SendWhatsAppMessageHandler
{
    private enum Outcome { Skipped, Withdrawn, Paused, RateLimited, PairWaiting, Sent, Failed, Throttled, Retry, DeadLettered, ThrottledTooLong }

    public static async Task Handle(
        SendWhatsAppMessage message, IMessageContext bus, Envelope envelope, NpgsqlDataSource dataSource, WhatsAppCloudClient graph, RateLimiter limiter,
        WhatsAppSendSettings settings, FlowMetrics metrics, ILogger<WhatsAppCloudClient> logger, CancellationToken cancellationToken)
    {
        string? failure = null;
        string? detail = null;
        string? runState = null;
        GraphError? refusal = null;
        int? statusCode = null;
        Outbound? claimed = null;
        var outcome = await bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            // A run's next message is published only once the earlier one's send committed, so this
            // statement's snapshot already shows that one sent.
            var outbound = claimed = await connection.QuerySingleOrDefaultAsync<Outbound>("""
                SELECT o.id, o.workspace_id, o.run_id, o.step, o.phone_number_id, o.to_wa_id, o.body::text AS body, o.status, o.attempts,
                       EXISTS (SELECT 1 FROM messaging.outbound_messages e WHERE e.run_id = o.run_id AND e.status = 'queued' AND e.step < o.step) AS earlier,
                       ch.workspace_id IS NOT DISTINCT FROM o.workspace_id AND ch.phone_number_id IS NOT NULL AS owned, ch.access_token,
                       ch.paused_at IS NOT NULL AS paused,
                       (SELECT r.status = 'cancelled' FROM messaging.flow_runs r WHERE r.id = o.run_id) AS run_cancelled,
                       (SELECT max(p.throttled_until) FROM messaging.outbound_messages p
                        WHERE p.phone_number_id = o.phone_number_id AND p.to_wa_id = o.to_wa_id AND p.throttled_until > now() AND p.id <> o.id) AS pair_throttled_until
                FROM messaging.outbound_messages o LEFT JOIN messaging.whatsapp_channels ch ON ch.phone_number_id = o.phone_number_id
                WHERE o.id = @OutboundMessageId FOR UPDATE OF o
                """, message, transaction);
            if (outbound is not { Status: "queued", Earlier: false })
            {
                // Done already, or an earlier message of the run goes first (and queues this one after it).
                return Outcome.Skipped;
            }

            if (outbound.RunCancelled)
            {
                // Cancelled while this send was on its way (a cancel withdraws the queued ones it sees).
                await connection.ExecuteAsync(RunStates.WithdrawQueuedSends, new { runId = outbound.RunId }, transaction);
                return Outcome.Withdrawn;
            }

            if (!outbound.Owned)
            {
                // Released, or never this workspace's: never sent in its name (nor with its token).
                var reason = detail = $"step {outbound.Step}: phone-number id {outbound.PhoneNumberId} is not one of the workspace's WhatsApp channels";
                await connection.ExecuteAsync(
                    "UPDATE messaging.outbound_messages SET attempts = attempts + 1, last_error = @reason, status = 'failed' WHERE id = @Id",
                    new { outbound.Id, reason }, transaction);
                await RunStates.FailAsync(transaction, outbound.RunId, reason);
                return Outcome.Failed;
            }

            if (outbound.Paused)
            {
                // Stays queued: resuming the channel (a new token, or an owner) queues it again.
                return Outcome.Paused;
            }

            if (outbound.PairThrottledUntil is { } pairUntil)
            {
                // Meta's pair rate limit (131056) holds this recipient back; other recipients are not asked to wait.
                await bus.ScheduleAsync(message, new DateTimeOffset(DateTime.SpecifyKind(pairUntil, DateTimeKind.Utc)) + Jitter());
                return Outcome.PairWaiting;
            }

            var limit = await limiter.TryAcquireAsync($"whatsapp-send:{outbound.PhoneNumberId}", settings.SendsPerPhoneNumberPerSecond, TimeSpan.FromSeconds(1));
            if (!limit.Allowed)
            {
                await bus.ScheduleAsync(message, DateTimeOffset.UtcNow + limit.RetryAfter + Jitter());
                return Outcome.RateLimited;
            }

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

            if (statusCode is >= 200 and < 300)
            {
                await connection.ExecuteAsync("""
                    UPDATE messaging.outbound_messages SET attempts = attempts + 1, last_status_code = @statusCode, last_error = NULL, error_code = NULL,
                        wamid = @wamid, status = 'sent', sent_at = now(), dead_lettered_at = NULL, throttled_until = NULL
                    WHERE id = @Id
                    """, new { outbound.Id, statusCode, wamid }, transaction);
                if (wamid is not null) await DeliveryStatuses.ApplyEarlierAsync(transaction, outbound.WorkspaceId, outbound.PhoneNumberId, wamid, metrics, logger);
                runState = await QueueFollowingAsync(transaction, bus, outbound, cancellationToken);
                return Outcome.Sent;
            }

            refusal = GraphError.Parse(error);
            var kind = GraphErrorCodes.Classify(statusCode, refusal);
            var text = detail = refusal?.Describe() ?? error;
            var throttledUntil = kind == GraphErrorKind.Throttled ? DateTimeOffset.UtcNow + settings.ThrottleDelay(outbound.Attempts + 1) : (DateTimeOffset?)null;
            await connection.ExecuteAsync("""
                UPDATE messaging.outbound_messages SET attempts = attempts + 1, last_status_code = @statusCode, last_error = @text, error_code = @code,
                    status = @status, throttled_until = @pairUntil
                WHERE id = @Id
                """, new
            {
                outbound.Id, statusCode, text, code = refusal?.Code, status = kind == GraphErrorKind.Permanent ? "failed" : "queued",
                pairUntil = refusal?.Code == 131056 ? throttledUntil : null,
            }, transaction);

            switch (kind)
            {
                case GraphErrorKind.Permanent:
                    var title = refusal?.Code is { } known && GraphErrorCodes.Lookup(known) is { } entry ? entry.Title + ". " : "";
                    await RunStates.FailAsync(transaction, outbound.RunId, $"step {outbound.Step}: Meta refused the message: {title}{text}");
                    return Outcome.Failed;
                case GraphErrorKind.TokenInvalid:
                    await connection.ExecuteAsync("""
                        UPDATE messaging.whatsapp_channels SET paused_at = now(), paused_code = @code, paused_reason = @text, paused_token = access_token
                        WHERE phone_number_id = @PhoneNumberId AND paused_at IS NULL
                        """, new { outbound.PhoneNumberId, code = refusal?.Code, text }, transaction);
                    return Outcome.Paused;
                case GraphErrorKind.Throttled when outbound.Attempts + 1 > settings.ThrottleRetries:
                    failure = $"Graph API send of outbound message {outbound.Id} throttled {outbound.Attempts + 1} times: {text}";
                    await DeadLetterAsync(transaction, outbound, failure);
                    return Outcome.ThrottledTooLong;
                case GraphErrorKind.Throttled:
                    await bus.ScheduleAsync(message, throttledUntil!.Value);
                    return Outcome.Throttled;
                default:
                    failure = $"Graph API send of outbound message {outbound.Id} failed ({statusCode?.ToString() ?? "no answer"}): {text}";
                    if (envelope.Attempts > settings.Retries)
                    {
                        await DeadLetterAsync(transaction, outbound, failure);
                        return Outcome.DeadLettered;
                    }
                    return Outcome.Retry;
            }
        }, cancellationToken);

        Report(outcome, claimed, statusCode, refusal, detail, envelope, metrics, logger);
        if (runState == "completed") metrics.RunCompleted();
        switch (outcome)
        {
            case Outcome.Retry or Outcome.DeadLettered: throw new GraphApiTransientException(failure!);
            case Outcome.ThrottledTooLong: throw new GraphApiThrottledException(failure!);
        }
    }

    /// <summary>Under the run's lock, the run's next queued message, queued now; then the run's state follows (<see cref="RunStates.AfterSentAsync"/>).</summary>
    private static async Task<string?> QueueFollowingAsync(NpgsqlTransaction transaction, IMessageContext bus, Outbound outbound, CancellationToken cancellationToken)
    {
        // A stretch of the engine adding a message to this run either commits before this query (and
        // its message is found here) or sees this one sent. One round trip, two statements: the second
        // takes its snapshot once the lock is held.
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
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
        return await RunStates.AfterSentAsync(transaction, bus, outbound.RunId, following);
    }

    /// <summary>The row stays queued (the run's later sends keep waiting behind it); the run says so until the replay.</summary>
    private static async Task DeadLetterAsync(NpgsqlTransaction transaction, Outbound outbound, string failure)
    {
        await transaction.Connection!.ExecuteAsync(
            "UPDATE messaging.outbound_messages SET dead_lettered_at = now() WHERE id = @Id", new { outbound.Id }, transaction);
        await RunStates.DeadLetterAsync(transaction, outbound.RunId, $"step {outbound.Step}: dead-lettered: {failure}");
    }

    private static TimeSpan Jitter() => TimeSpan.FromMilliseconds(Random.Shared.Next(50, 250));

    /// <summary>Every outcome logged with Meta's code and counted (funnels.whatsapp.sends by outcome, funnels.whatsapp.graph_errors by code and kind).</summary>
    private static void Report(Outcome outcome, Outbound? outbound, int? statusCode, GraphError? refusal, string? detail, Envelope envelope, FlowMetrics metrics, ILogger logger)
    {
        var code = refusal?.Code;
        switch (outcome)
        {
            case Outcome.Skipped:
                return;
            case Outcome.Withdrawn:
                metrics.Sent("withdrawn");
                logger.LogInformation("Outbound message {OutboundMessageId} withdrawn: run {RunId} was cancelled before it went out", outbound!.Id, outbound.RunId);
                return;
            case Outcome.Sent:
                metrics.Sent("sent");
                logger.LogDebug("Sent outbound message {OutboundMessageId} of run {RunId}", outbound!.Id, outbound.RunId);
                return;
            case Outcome.RateLimited:
                metrics.Sent("rate_limited");
                return;
            case Outcome.PairWaiting:
                metrics.Sent("pair_waiting");
                logger.LogInformation("Outbound message {OutboundMessageId} waits: Meta's pair rate limit (131056) holds recipient {WaId} back", outbound!.Id, outbound.ToWaId);
                return;
            case Outcome.Failed when statusCode is null && refusal is null:
                // The channel check, not Meta.
                metrics.Sent("failed");
                metrics.RunFailed();
                logger.LogWarning("Outbound message {OutboundMessageId} of run {RunId} failed: {Error}", outbound!.Id, outbound.RunId, detail);
                return;
            case Outcome.Paused when statusCode is null:
                metrics.Sent("paused");
                logger.LogDebug("Outbound message {OutboundMessageId} stays queued: sending from {PhoneNumberId} is paused", outbound!.Id, outbound.PhoneNumberId);
                return;
        }

        var kind = GraphErrorCodes.Classify(statusCode, refusal);
        var tag = GraphErrorCodes.Tag(kind);
        metrics.GraphError(tag, code);
        switch (outcome)
        {
            case Outcome.Failed:
                metrics.Sent("failed");
                metrics.RunFailed();
                logger.LogWarning("Meta refused outbound message {OutboundMessageId} of run {RunId} for good: code {Code} ({Kind}), HTTP {StatusCode}: {Error}",
                    outbound!.Id, outbound.RunId, code, tag, statusCode, detail);
                break;
            case Outcome.Paused:
                metrics.Sent("paused");
                logger.LogError("Meta refused the access token of channel {PhoneNumberId}: code {Code} ({Kind}): {Error}; its sending is paused, its messages stay queued",
                    outbound!.PhoneNumberId, code, tag, detail);
                break;
            case Outcome.Throttled:
                metrics.Sent("throttled");
                logger.LogWarning("Meta throttled outbound message {OutboundMessageId} to {WaId}: code {Code} ({Kind}), attempt {Attempt}; rescheduled with back-off",
                    outbound!.Id, outbound.ToWaId, code, tag, outbound.Attempts + 1);
                break;
            case Outcome.ThrottledTooLong or Outcome.DeadLettered:
                metrics.Sent("dead_lettered");
                logger.LogError("Outbound message {OutboundMessageId} of run {RunId} dead-lettered after {Attempts} attempts: code {Code} ({Kind}), HTTP {StatusCode}: {Error}",
                    outbound!.Id, outbound.RunId, outbound.Attempts + 1, code, tag, statusCode, detail);
                break;
            case Outcome.Retry:
                metrics.Sent("retrying");
                logger.LogWarning("Graph API send of outbound message {OutboundMessageId} failed: code {Code} ({Kind}), HTTP {StatusCode}: {Error} (attempt {Attempt}); retrying",
                    outbound!.Id, code, tag, statusCode?.ToString() ?? "no answer", detail, envelope.Attempts);
                break;
        }
    }

    private sealed record Outbound(
        Guid Id, Guid WorkspaceId, Guid RunId, int Step, string PhoneNumberId, string ToWaId, string Body, string Status, int Attempts, bool Earlier, bool Owned, string? AccessToken,
        bool Paused, bool RunCancelled, DateTime? PairThrottledUntil);
}
