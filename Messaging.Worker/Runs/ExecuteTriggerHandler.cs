using System.Text.Json.Nodes;
using Dapper;
using Funnels.Messaging.Flows;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>
/// Takes one queued trigger and runs its flow up to the first wait. The trigger row is claimed
/// (queued → started) in the same transaction that creates the run, so however many instances
/// receive the message, one run exists per trigger. A test-send runs its flow in any status, with
/// the run id it reserved.
/// </summary>
public static class ExecuteTriggerHandler
{
    public static Task Handle(ExecuteTrigger message, IMessageContext bus, NpgsqlDataSource dataSource, FlowEngine engine, FlowMetrics metrics, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            var trigger = await connection.QuerySingleOrDefaultAsync<TriggerRow>("""
                UPDATE messaging.scheduled_triggers t SET status = CASE WHEN f.status = 'active' OR t.source = 'test_send' THEN 'started' ELSE 'skipped' END, started_at = now()
                FROM messaging.flows f
                WHERE t.id = @TriggerId AND t.status = 'queued' AND f.id = t.flow_id
                RETURNING t.id, t.workspace_id, t.flow_id, t.flow_version, t.contact_id, t.phone_number_id, t.input::text AS input, t.status, t.run_id
                """, message, transaction);
            if (trigger is not { Status: "started" })
            {
                return;
            }
            var runId = trigger.RunId ?? Guid.CreateVersion7();
            await connection.ExecuteAsync("""
                INSERT INTO messaging.flow_runs (id, workspace_id, flow_id, flow_version, contact_id, trigger_id, phone_number_id, status)
                VALUES (@runId, @WorkspaceId, @FlowId, @FlowVersion, @ContactId, @Id, @PhoneNumberId, 'running')
                """, new { runId, trigger.WorkspaceId, trigger.FlowId, trigger.FlowVersion, trigger.ContactId, trigger.Id, trigger.PhoneNumberId }, transaction);
            metrics.RunStarted();
            var run = (await FlowEngine.LoadForUpdateAsync(transaction, runId))!;
            var context = new JsonObject { ["trigger"] = JsonNode.Parse(trigger.Input) };
            await engine.AdvanceAsync(transaction, bus, run, FlowDefinition.Parse(run.Definition).Start, context, cancellationToken);
        }, cancellationToken);

    private sealed record TriggerRow(Guid Id, Guid WorkspaceId, Guid FlowId, int FlowVersion, Guid ContactId, string PhoneNumberId, string Input, string Status, Guid? RunId);
}
