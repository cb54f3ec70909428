using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Sending;
using Funnels.Messaging.Triggers;
using Funnels.ServiceDefaults.Outbound;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Runs;

/// <summary>A run as the engine works on it, loaded under a row lock inside the step's transaction.</summary>
public class LoadedRun
{
    public Guid Id { get; init; }
    public Guid WorkspaceId { get; init; }
    public Guid FlowId { get; init; }
    public int FlowVersion { get; init; }
    public Guid ContactId { get; init; }
    public string PhoneNumberId { get; init; } = "";
    public string Status { get; set; } = "";
    public string? CurrentNode { get; set; }
    public int Step { get; set; }
    public string? WaitKind { get; set; }
    public DateTime? WaitUntil { get; set; }
    public string Context { get; init; } = "{}";
    public string Definition { get; init; } = "{}";
    public string WaId { get; init; } = "";
    public string? ContactName { get; init; }
    public string? ContactPhone { get; init; }
    public string Attributes { get; init; } = "{}";

    /// <summary>Whether a send of this run is still queued (null: unknown until asked). A new run has none.</summary>
    public bool? SendQueued { get; set; }
}

/// <summary>
/// Runs a flow graph from a node until it has to wait (a delay, a reply) or ends. Everything a
/// stretch of steps does (the run's progress, its step log, the send messages it queues, the
/// scheduled wake-up) is written in the caller's outbox transaction: a crash before the commit
/// leaves the run at its last committed step and the redelivered message runs the stretch again;
/// after the commit nothing is repeated. Sends are durable messages keyed by run and step.
/// </summary>
public sealed class FlowEngine(FlowMetrics metrics, FlowWebhookCaller webhooks, WorkerInstance instance)
{
    private const int MaxStepsPerAdvance = 100;

    public static async Task<LoadedRun?> LoadForUpdateAsync(NpgsqlTransaction transaction, Guid runId) =>
        await transaction.Connection!.QuerySingleOrDefaultAsync<LoadedRun>("""
            SELECT r.id, r.workspace_id, r.flow_id, r.flow_version, r.contact_id, r.phone_number_id, r.status, r.current_node, r.step,
                   r.wait_kind, r.wait_until, r.context::text AS context, v.definition::text AS definition,
                   c.wa_id, c.name AS contact_name, c.phone AS contact_phone, c.attributes::text AS attributes
            FROM messaging.flow_runs r
            JOIN messaging.flow_versions v ON v.flow_id = r.flow_id AND v.version = r.flow_version
            JOIN messaging.contacts c ON c.id = r.contact_id
            WHERE r.id = @runId FOR UPDATE OF r
            """, new { runId }, transaction);

    /// <summary>Runs from <paramref name="nodeId"/> (null: the run is finished) and saves where it stopped.</summary>
    public async Task AdvanceAsync(
        NpgsqlTransaction transaction, IMessageContext bus, LoadedRun run, string? nodeId, JsonObject context, CancellationToken cancellationToken, FlowDefinition? definition = null)
    {
        definition ??= FlowDefinition.Parse(run.Definition);
        if (run.Step == 0) run.SendQueued = false;
        context["contact"] = new JsonObject { ["name"] = run.ContactName, ["phone"] = run.ContactPhone, ["wa_id"] = run.WaId };
        context["attributes"] = JsonNode.Parse(run.Attributes);
        run.Status = "running";
        run.WaitKind = null;
        run.WaitUntil = null;
        string? error = null;
        var executed = 0;
        var writes = new StretchWrites();

        while (nodeId is not null)
        {
            if (++executed > MaxStepsPerAdvance)
            {
                error = $"more than {MaxStepsPerAdvance} steps without a wait: the flow loops";
                break;
            }
            if (!definition.Nodes.TryGetValue(nodeId, out var node))
            {
                error = $"node '{nodeId}' does not exist in version {run.FlowVersion}";
                break;
            }
            run.Step++;
            run.CurrentNode = nodeId;
            var (next, outcome, detail) = await ExecuteAsync(transaction, bus, run, nodeId, node, context, writes, cancellationToken);
            writes.Steps.Add((run.Step, nodeId, node.TypeOf(), outcome, detail?.ToJsonString()));
            metrics.StepExecuted(node.TypeOf());
            if (writes.Failure is { } failure)
            {
                error = failure;
                break;
            }
            if (run.Status == "waiting")
            {
                break;
            }
            nodeId = next;
        }

        if (run.Status != "waiting")
        {
            // Completed only once Meta accepted every message: until then "sending" (RunStates: the last send completes it).
            run.Status = error is not null ? "failed" : await SendsQueuedAsync(transaction, run) ? "sending" : "completed";
            if (run.Status == "completed") metrics.RunCompleted(); else if (error is not null) metrics.RunFailed();
        }
        await SaveAsync(transaction, run, writes, context, error, cancellationToken);
    }

    private static async Task<bool> SendsQueuedAsync(NpgsqlTransaction transaction, LoadedRun run) =>
        run.SendQueued ?? await transaction.Connection!.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM messaging.outbound_messages WHERE run_id = @Id AND status = 'queued')", new { run.Id }, transaction);

    /// <summary>What a stretch wrote, saved at its end in one round trip: nothing reads it back within the stretch.</summary>
    private sealed class StretchWrites
    {
        public List<(int Step, string NodeId, string Type, string Outcome, string? Detail)> Steps { get; } = [];
        public List<(Guid Id, int Step, string Kind, string Body)> Outbound { get; } = [];

        /// <summary>A step that fails the run for good (a webhook target the outbound policy refuses).</summary>
        public string? Failure { get; set; }
    }

    private async Task SaveAsync(NpgsqlTransaction transaction, LoadedRun run, StretchWrites writes, JsonObject context, string? error, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        if (writes.Outbound.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                INSERT INTO messaging.outbound_messages (id, workspace_id, run_id, step, phone_number_id, to_wa_id, kind, body)
                SELECT o.id, $1, $2, o.step, $3, $4, o.kind, o.body::jsonb FROM unnest($5::uuid[], $6::integer[], $7::text[], $8::text[]) AS o(id, step, kind, body)
                """, run.WorkspaceId, run.Id, run.PhoneNumberId, run.WaId,
                writes.Outbound.Select(o => o.Id).ToArray(), writes.Outbound.Select(o => o.Step).ToArray(),
                writes.Outbound.Select(o => o.Kind).ToArray(), writes.Outbound.Select(o => o.Body).ToArray()));
        }
        if (writes.Steps.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                INSERT INTO messaging.flow_run_steps (run_id, step, node_id, node_type, outcome, detail)
                SELECT $1, s.step, s.node_id, s.node_type, s.outcome, s.detail::jsonb FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[], $6::text[]) AS s(step, node_id, node_type, outcome, detail)
                """, run.Id, writes.Steps.Select(s => s.Step).ToArray(), writes.Steps.Select(s => s.NodeId).ToArray(),
                writes.Steps.Select(s => s.Type).ToArray(), writes.Steps.Select(s => s.Outcome).ToArray(), writes.Steps.Select(s => s.Detail).ToArray()));
        }
        batch.BatchCommands.Add(Command("""
            UPDATE messaging.flow_runs SET status = $2, current_node = $3, step = $4, wait_kind = $5, wait_until = $6,
                context = $7::jsonb, error = $8, executed_by = $9, updated_at = now(),
                finished_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() END
            WHERE id = $1
            """, run.Id, run.Status, run.CurrentNode, run.Step, run.WaitKind, run.WaitUntil, context.ToJsonString(), error, instance.Name));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    private async Task<(string? Next, string Outcome, JsonObject? Detail)> ExecuteAsync(
        NpgsqlTransaction transaction, IMessageContext bus, LoadedRun run, string nodeId, JsonObject node, JsonObject context, StretchWrites writes, CancellationToken cancellationToken)
    {
        var next = node.Str("next");
        switch (node.TypeOf())
        {
            case NodeTypes.SendText or NodeTypes.SendTemplate or NodeTypes.SendMedia or NodeTypes.SendInteractive:
            {
                var body = GraphMessages.Build(node, run.WaId, context);
                if (node.TypeOf() == NodeTypes.SendInteractive)
                {
                    // What the contact may tap from now on: such a reply is this run's, whatever other flows' triggers say (WhatsApp/InboundRoutes).
                    context["interactive"] = new JsonObject { ["node"] = nodeId, ["choices"] = InteractiveNode.Choices(node) };
                }
                var outboundId = Guid.CreateVersion7();
                writes.Outbound.Add((outboundId, run.Step, node.TypeOf(), body.ToJsonString()));
                // A run's messages reach the contact in step order: while an earlier send of the run is
                // still queued (or retrying), this one waits; that send's handler queues it when done.
                // This stretch's own sends are not written yet: SendQueued knows about them.
                var earlier = run.SendQueued ?? await transaction.Connection!.ExecuteScalarAsync<bool>(
                    "SELECT EXISTS (SELECT 1 FROM messaging.outbound_messages WHERE run_id = @Id AND status = 'queued' AND step < @Step)", new { run.Id, run.Step }, transaction);
                run.SendQueued = true;
                if (!earlier)
                {
                    await bus.PublishAsync(new SendWhatsAppMessage(outboundId));
                }
                return (next, "queued", new JsonObject { ["outbound_message_id"] = outboundId.ToString() });
            }
            case NodeTypes.SetAttribute:
            {
                var key = node.Str("key")!;
                var value = node["value"] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? JsonValue.Create(FlowContext.Interpolate(v.GetValue<string>(), context))
                    : node["value"]?.DeepClone();
                await transaction.Connection!.ExecuteAsync(
                    "UPDATE messaging.contacts SET attributes = attributes || jsonb_build_object(@key, @value::jsonb), updated_at = now() WHERE id = @ContactId",
                    new { key, value = value?.ToJsonString() ?? "null", run.ContactId }, transaction);
                context["attributes"]!.AsObject()[key] = value;
                return (next, "set", new JsonObject { ["key"] = key, ["value"] = value?.DeepClone() });
            }
            case NodeTypes.Webhook:
            {
                var response = await webhooks.CallAsync(node, run, nodeId, context, cancellationToken);
                var hooks = context["webhooks"] as JsonObject ?? new JsonObject();
                hooks[nodeId] = response;
                context["webhooks"] = hooks;
                if (response["refused"] is not null)
                {
                    // Not retryable, not a branch to take: the flow aims inside, the run fails.
                    writes.Failure = $"step {run.Step}: webhook node '{nodeId}': {OutboundPolicy.Refused}";
                    return (null, "refused", new JsonObject { ["error"] = OutboundPolicy.Refused });
                }
                return (next, "called", new JsonObject { ["status"] = response["status"]?.DeepClone() });
            }
            case NodeTypes.Wait or NodeTypes.Delay:
            {
                var due = DateTimeOffset.UtcNow.AddSeconds(node.Int("seconds")!.Value);
                Wait(run, "delay", due);
                await bus.ScheduleAsync(new ResumeRun(run.Id, run.Step, due), due);
                return (next, "waiting", new JsonObject { ["until"] = due.ToString("O") });
            }
            case NodeTypes.WaitForReply:
            {
                DateTimeOffset? due = node.Int("timeout_seconds") is { } seconds ? DateTimeOffset.UtcNow.AddSeconds(seconds) : null;
                Wait(run, "reply", due);
                if (due is { } at)
                {
                    await bus.ScheduleAsync(new ReplyTimedOut(run.Id, run.Step, at), at);
                }
                return (next, "waiting", new JsonObject { ["until"] = due?.ToString("O") });
            }
            case NodeTypes.Intent:
            {
                var map = node["map"]!.AsObject().ToList();
                // A tapped button or list row also matches by its id (reply.payload): a keyword equal to the whole id.
                var payload = context["reply"] is not null ? FlowContext.Text(context, "reply.payload") : FlowContext.Text(context, "trigger.payload");
                var normalized = await Phrases.NormalizeAsync(transaction.Connection!, transaction,
                    [FlowContext.Text(context, "reply.text") ?? FlowContext.Text(context, "trigger.text") ?? "", payload ?? "", .. map.Select(k => k.Key)]);
                var padded = $" {normalized[0]} ";
                for (var i = 0; i < map.Count; i++)
                {
                    var word = normalized[i + 2];
                    if (word.Length > 0 && (word == normalized[1] || padded.Contains($" {word} ", StringComparison.Ordinal)))
                    {
                        return (map[i].Value!.GetValue<string>(), "matched", new JsonObject { ["keyword"] = map[i].Key });
                    }
                }
                return (node.Str("default"), "default", null);
            }
            case NodeTypes.Condition:
            {
                var holds = Holds(node, context);
                return (node.Str(holds ? "then" : "else"), holds ? "then" : "else", null);
            }
            default:
                return (null, "ended", null);
        }
    }

    private static void Wait(LoadedRun run, string kind, DateTimeOffset? until)
    {
        run.Status = "waiting";
        run.WaitKind = kind;
        run.WaitUntil = until?.UtcDateTime;
    }

    private static bool Holds(JsonObject node, JsonObject context)
    {
        var actual = FlowContext.Text(context, node.Str("field")!);
        var expected = node["value"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? FlowContext.Interpolate(v.GetValue<string>(), context) : node["value"]?.ToJsonString();
        return (node.Str("operator") ?? "equals") switch
        {
            "exists" => !string.IsNullOrEmpty(actual),
            "not_exists" => string.IsNullOrEmpty(actual),
            "not_equals" => !string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase),
            "contains" => actual is not null && expected is not null && actual.Contains(expected, StringComparison.OrdinalIgnoreCase),
            "matches" => actual is not null && expected is not null && Regex.IsMatch(actual, expected, RegexOptions.None, TimeSpan.FromMilliseconds(100)),
            _ => string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase),
        };
    }
}

/// <summary>This process, as recorded on the runs it executed (several worker instances drain the executions queue).</summary>
public sealed class WorkerInstance
{
    public string Name { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
}
