using Dapper;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>
/// A run's state as its sends decide it (docs/whatsapp-and-flows.md, "Run states"): the engine ends a
/// flow as <c>sending</c> while some of its messages are still queued, and only the send that
/// empties the queue makes it <c>completed</c>. A send refused for good fails the run; a send
/// whose retries ran out makes it <c>dead_lettered</c>, keeping where it waited, and the replayed
/// send that succeeds puts it back (waiting, sending or completed). Every statement runs under the
/// run's row lock, inside the send's transaction.
/// </summary>
public static class RunStates
{
    /// <summary>States a run's send may still change (the flow may be anywhere, its sends are not all out).</summary>
    public static readonly string[] Open = ["running", "waiting", "sending", "completed"];

    /// <summary>
    /// A cancelled run's sends that have not gone out are withdrawn (status <c>cancelled</c>), so a
    /// paused channel's resume or a retry never sends them. Parameter: <c>runId</c>.
    /// </summary>
    public const string WithdrawQueuedSends = """
        UPDATE messaging.outbound_messages SET status = 'cancelled', last_error = 'withdrawn: the run was cancelled before this message went out'
        WHERE run_id = @runId AND status = 'queued'
        """;

    public static Task<int> FailAsync(NpgsqlTransaction transaction, Guid runId, string reason) =>
        transaction.Connection!.ExecuteAsync("""
            UPDATE messaging.flow_runs SET status = 'failed', error = @reason, wait_kind = NULL, updated_at = now(), finished_at = now()
            WHERE id = @runId AND status = ANY (@Open)
            """, new { runId, reason, Open }, transaction);

    /// <summary>The wait (if any) is kept: a reply or a wake-up meanwhile finds the run not waiting and does nothing; the replay restores it.</summary>
    public static Task<int> DeadLetterAsync(NpgsqlTransaction transaction, Guid runId, string reason) =>
        transaction.Connection!.ExecuteAsync("""
            UPDATE messaging.flow_runs SET status = 'dead_lettered', error = @reason, updated_at = now()
            WHERE id = @runId AND status = ANY (@Open)
            """, new { runId, reason, Open }, transaction);

    /// <summary>
    /// A send of the run went out (the caller holds the run's lock). <paramref name="following"/>: the run's next
    /// queued send, if any. A sending run with nothing left completes; a dead-lettered one is put back, and a
    /// wait whose time passed meanwhile is woken now (its scheduled wake-up found the run not waiting).
    /// </summary>
    /// <returns>The run's new state when this send changed it (completed, sending or waiting), else null.</returns>
    public static async Task<string?> AfterSentAsync(NpgsqlTransaction transaction, IMessageContext bus, Guid runId, Guid? following)
    {
        var restored = await transaction.Connection!.QuerySingleOrDefaultAsync<Restored>("""
            UPDATE messaging.flow_runs r SET
                status = CASE WHEN r.wait_kind IS NOT NULL THEN 'waiting' WHEN @queued THEN 'sending' ELSE 'completed' END,
                error = CASE WHEN r.status = 'dead_lettered' THEN NULL ELSE r.error END,
                finished_at = CASE WHEN r.wait_kind IS NULL AND NOT @queued THEN now() END,
                updated_at = now()
            WHERE r.id = @runId AND (r.status = 'dead_lettered' OR (r.status = 'sending' AND NOT @queued))
            RETURNING r.status, r.wait_kind, r.wait_until, r.step
            """, new { runId, queued = following is not null }, transaction);
        if (restored is { Status: "waiting", WaitUntil: { } until } && until <= DateTime.UtcNow)
        {
            var due = new DateTimeOffset(DateTime.SpecifyKind(until, DateTimeKind.Utc));
            if (restored.WaitKind == "delay") await bus.PublishAsync(new ResumeRun(runId, restored.Step, due));
            else await bus.PublishAsync(new ReplyTimedOut(runId, restored.Step, due));
        }
        return restored?.Status;
    }

    private sealed record Restored(string Status, string? WaitKind, DateTime? WaitUntil, int Step);
}
