using Dapper;
using Funnels.Messaging.Runs;
using Npgsql;

namespace Funnels.Messaging.WhatsApp;

/// <summary>
/// What Meta reports about messages we sent, applied inside the delivery's transaction
/// (docs/whatsapp-and-flows.md, "Delivery statuses"). A status moves the outbound message it names
/// (by wamid) forward only: sent, then delivered, then read; <c>failed</c> records Meta's errors[],
/// marks the message failed and fails its run. A repeated or late status (Meta retries, and does not
/// keep order) changes nothing. Error notifications (a value with errors[] only) are listed for the
/// Channels page and logged as warnings.
/// </summary>
public static class DeliveryStatuses
{
    public static readonly string[] Known = ["sent", "delivered", "read", "failed"];

    /// <summary>Applies one status; true when it moved the message.</summary>
    public static async Task<bool> ApplyAsync(NpgsqlTransaction transaction, Guid workspace, MessageStatus status, FlowMetrics metrics, ILogger logger)
    {
        if (!Known.Contains(status.Status)) return false;
        var errors = CloudApiError.ListOf(status.Errors);
        var failed = status.Status == "failed";
        var reason = failed ? (errors.Count > 0 ? string.Join("; ", errors.Select(e => e.Describe())) : "Meta reported the message failed") : null;
        // Ranks: sent 1, delivered 2, read 3, failed 3: read never goes back to delivered, and a message
        // read or failed stays so. A failed message (status 'failed') keeps being failed whatever comes next.
        var moved = await transaction.Connection!.QuerySingleOrDefaultAsync<Moved>("""
            UPDATE messaging.outbound_messages o SET delivery_status = @Status, delivery_at = COALESCE(@ReportedAt, now()),
                status = CASE WHEN @failed THEN 'failed' ELSE o.status END,
                last_error = CASE WHEN @failed THEN @reason ELSE o.last_error END,
                error_code = CASE WHEN @failed THEN @code ELSE o.error_code END
            WHERE o.workspace_id = @workspace AND o.wamid = @Wamid
              AND (CASE @Status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 3 END)
                > (CASE o.delivery_status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 3 ELSE 0 END)
            RETURNING o.id, o.run_id, o.step
            """, new { workspace, status.Wamid, status.Status, status.ReportedAt, failed, reason, code = errors.FirstOrDefault()?.Code }, transaction);
        metrics.DeliveryStatus(status.Status, moved is not null);
        if (moved is null || !failed) return moved is not null;

        await RunStates.FailAsync(transaction, moved.RunId, $"step {moved.Step}: Meta could not deliver the message: {reason}");
        metrics.RunFailed();
        logger.LogWarning("Meta reported outbound message {OutboundMessageId} ({Wamid}) of run {RunId} failed: code {Code}: {Error}",
            moved.Id, status.Wamid, moved.RunId, errors.FirstOrDefault()?.Code, reason);
        return true;
    }

    /// <summary>
    /// Statuses Meta reported for a wamid before its send committed (its webhook can overtake our
    /// transaction): applied when the send records the wamid, in rank order.
    /// </summary>
    public static async Task ApplyEarlierAsync(NpgsqlTransaction transaction, Guid workspace, string phoneNumberId, string wamid, FlowMetrics metrics, ILogger logger)
    {
        var early = await transaction.Connection!.QueryAsync<(string Status, string? RecipientId, string? Errors, DateTime? ReportedAt)>("""
            SELECT status, recipient_id, errors::text, reported_at FROM messaging.message_statuses WHERE workspace_id = @workspace AND wamid = @wamid
            ORDER BY CASE status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 3 END
            """, new { workspace, wamid }, transaction);
        foreach (var (status, recipient, errors, reportedAt) in early)
        {
            var at = reportedAt is { } r ? new DateTimeOffset(DateTime.SpecifyKind(r, DateTimeKind.Utc)) : (DateTimeOffset?)null;
            await ApplyAsync(transaction, workspace, new MessageStatus(phoneNumberId, wamid, status, recipient, at, errors), metrics, logger);
        }
    }

    /// <summary>Records an error notification once (by the delivery's event id and its place in it) and logs it as a warning.</summary>
    public static async Task RecordAsync(NpgsqlTransaction transaction, Guid eventId, Guid workspace, ErrorNotification notification, FlowMetrics metrics, ILogger logger)
    {
        var error = notification.Error;
        var inserted = await transaction.Connection!.ExecuteAsync("""
            INSERT INTO messaging.whatsapp_error_notifications (id, source_key, workspace_id, phone_number_id, code, title, message, details, raw)
            VALUES (@id, @key, @workspace, @PhoneNumberId, @Code, @Title, @Message, @Details, @Raw::jsonb) ON CONFLICT (source_key) DO NOTHING
            """, new
        {
            id = Guid.CreateVersion7(), key = $"{eventId}:{notification.Position}", workspace, notification.PhoneNumberId,
            error.Code, error.Title, error.Message, error.Details, notification.Raw,
        }, transaction);
        if (inserted == 0) return;
        metrics.ErrorNotification(error.Code);
        logger.LogWarning("Meta reported error {Code} ({Title}) for WhatsApp channel {PhoneNumberId}: {Message} {Details}",
            error.Code, error.Title, notification.PhoneNumberId, error.Message, error.Details);
    }

    private sealed record Moved(Guid Id, Guid RunId, int Step);
}
