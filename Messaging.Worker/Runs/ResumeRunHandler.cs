using System.Text.Json.Nodes;
using Funnels.Messaging.Flows;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>A delay is over: continue after the wait node, unless the run moved on (cancelled, or already resumed).</summary>
public static class ResumeRunHandler
{
    public static Task Handle(ResumeRun message, IMessageContext bus, NpgsqlDataSource dataSource, FlowEngine engine, FlowMetrics metrics, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var run = await FlowEngine.LoadForUpdateAsync(transaction, message.RunId);
            metrics.WaitFinished(message.DueAt);
            if (run is not { Status: "waiting", WaitKind: "delay" } || run.Step != message.Step)
            {
                return;
            }
            var node = FlowDefinition.Parse(run.Definition).Nodes[run.CurrentNode!];
            await engine.AdvanceAsync(transaction, bus, run, node.Str("next"), JsonNode.Parse(run.Context)!.AsObject(), cancellationToken);
        }, cancellationToken);
}
