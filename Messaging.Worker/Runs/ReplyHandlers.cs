using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Funnels.Messaging.Flows;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>
/// A reply to a run waiting in wait_for_reply: when it matches the node's pattern (or there is
/// none) the run continues at the node's next, with the reply in the context; the scheduled
/// timeout then finds the run moved on and does nothing. A reply that does not match is kept
/// in the step log and the run keeps waiting.
/// </summary>
public static class ReplyReceivedHandler
{
    public static Task Handle(ReplyReceived message, IMessageContext bus, NpgsqlDataSource dataSource, FlowEngine engine, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var run = await FlowEngine.LoadForUpdateAsync(transaction, message.RunId);
            if (run is not { Status: "waiting", WaitKind: "reply" } || run.Step != message.Step)
            {
                return;
            }
            var node = FlowDefinition.Parse(run.Definition).Nodes[run.CurrentNode!];
            var text = message.Text ?? message.Payload ?? "";
            if (node.Str("pattern") is { } pattern
                && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100))
                && !(message.Payload is { } payload && Regex.IsMatch(payload, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100))))
            {
                await transaction.Connection!.ExecuteAsync(
                    "UPDATE messaging.flow_runs SET context = jsonb_set(context, '{last_unmatched_reply}', to_jsonb(@text::text)), updated_at = now() WHERE id = @RunId",
                    new { text, message.RunId }, transaction);
                return;
            }
            var context = JsonNode.Parse(run.Context)!.AsObject();
            context["reply"] = new JsonObject { ["text"] = text, ["payload"] = message.Payload, ["inbound_message_id"] = message.InboundMessageId.ToString() };
            await engine.AdvanceAsync(transaction, bus, run, node.Str("next"), context, cancellationToken);
        }, cancellationToken);
}

/// <summary>No reply in time: take the node's timeout_path, unless a reply (or a cancel) got there first.</summary>
public static class ReplyTimedOutHandler
{
    public static Task Handle(ReplyTimedOut message, IMessageContext bus, NpgsqlDataSource dataSource, FlowEngine engine, FlowMetrics metrics, CancellationToken cancellationToken) =>
        bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var run = await FlowEngine.LoadForUpdateAsync(transaction, message.RunId);
            metrics.WaitFinished(message.DueAt);
            if (run is not { Status: "waiting", WaitKind: "reply" } || run.Step != message.Step)
            {
                return;
            }
            var node = FlowDefinition.Parse(run.Definition).Nodes[run.CurrentNode!];
            var context = JsonNode.Parse(run.Context)!.AsObject();
            context["reply"] = new JsonObject { ["timed_out"] = true };
            await engine.AdvanceAsync(transaction, bus, run, node.Str("timeout_path"), context, cancellationToken);
        }, cancellationToken);
}
