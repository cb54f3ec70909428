using System.Text.Json.Nodes;
using Dapper;
using Funnels.Messaging.Flows;
using Npgsql;
using Wolverine;
using Wolverine.RDBMS;
using Wolverine.Runtime;

namespace Funnels.Messaging.Runs;

/// <summary>A trigger row just inserted (queued) for a flow version.</summary>
public sealed record QueuedTrigger(Guid Id, Guid FlowId, int FlowVersion);

/// <summary>A run just created from its claimed trigger, with what the engine needs to run it.</summary>
public sealed class StartingRun : LoadedRun
{
    public string Input { get; init; } = "{}";
}

/// <summary>
/// Starts runs from queued triggers. Each trigger row is claimed (queued → started, or skipped
/// when its flow is no longer active, test-sends excepted) in the same statement and transaction
/// that creates its run, so a trigger gets at most one run whichever way it is started: by an
/// <see cref="ExecuteTrigger"/> message, or inline by the handler that queued it.
/// </summary>
public sealed class RunStarter(FlowEngine engine, FlowMetrics metrics, IWolverineRuntime runtime, ILogger<RunStarter> logger)
{
    private const string Savepoint = "inline_starts";

    /// <summary>Starts the runs of <paramref name="triggerIds"/> still queued, their messages in <paramref name="bus"/>'s outbox.</summary>
    public async Task StartAsync(NpgsqlTransaction transaction, IMessageContext bus, IReadOnlyCollection<Guid> triggerIds, CancellationToken cancellationToken)
    {
        var runs = await ClaimAsync(transaction, triggerIds);
        if (runs.Count == 0) return;
        var definitions = (await DefinitionsAsync(transaction, runs.Select(r => (r.FlowId, r.FlowVersion))))
            .ToDictionary(d => d.Key, d => FlowDefinition.Parse(d.Value!));
        foreach (var run in runs)
        {
            await AdvanceAsync(transaction, bus, run, definitions[(run.FlowId, run.FlowVersion)], cancellationToken);
        }
    }

    /// <summary>
    /// Starts the runs of triggers the caller has just queued, inside the caller's transaction, to
    /// save each click a hop through RabbitMQ. One flow that fails to start does not fail the
    /// caller: the starts are tried under a savepoint; on an exception they are rolled back and
    /// tried again without the failing flow, whose triggers get an <see cref="ExecuteTrigger"/>
    /// each (in <paramref name="bus"/>'s outbox) and so the usual retries and dead letters. Flows
    /// with a webhook step go that way too: a slow third party must not hold up a whole delivery.
    /// The started runs' messages are in the returned context, to flush once the caller committed
    /// (a rolled-back attempt's context is dropped, so nothing it published is ever sent).
    /// </summary>
    public async Task<MessageContext?> StartInlineAsync(NpgsqlTransaction transaction, IMessageContext bus, IReadOnlyList<QueuedTrigger> triggers, CancellationToken cancellationToken)
    {
        if (triggers.Count == 0) return null;
        var definitions = (await DefinitionsAsync(transaction, triggers.Select(t => (t.FlowId, t.FlowVersion))))
            .ToDictionary(d => d.Key, d => TryParse(d.Value));
        var deferred = definitions.Where(d => d.Value is null || d.Value.Nodes.Values.Any(n => n.TypeOf() == NodeTypes.Webhook)).Select(d => d.Key).ToHashSet();
        MessageContext? started = null;
        while (triggers.Where(t => !deferred.Contains((t.FlowId, t.FlowVersion))).Select(t => t.Id).ToArray() is { Length: > 0 } inline)
        {
            await transaction.SaveAsync(Savepoint, cancellationToken);
            var context = await EnlistedContextAsync(transaction);
            StartingRun? current = null;
            try
            {
                foreach (var run in await ClaimAsync(transaction, inline))
                {
                    current = run;
                    await AdvanceAsync(transaction, context, run, definitions[(run.FlowId, run.FlowVersion)]!, cancellationToken);
                }
                started = context;
                break;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                await transaction.RollbackAsync(Savepoint, cancellationToken);
                if (current is null)
                {
                    deferred.UnionWith(definitions.Keys); // the claim itself failed: every start takes the message path
                }
                else
                {
                    deferred.Add((current.FlowId, current.FlowVersion));
                }
                logger.LogWarning(ex, "Starting runs inline failed at flow {FlowId}; its triggers go through ExecuteTrigger", current?.FlowId.ToString() ?? "(claim)");
            }
        }
        foreach (var trigger in triggers.Where(t => deferred.Contains((t.FlowId, t.FlowVersion))))
        {
            await bus.PublishAsync(new ExecuteTrigger(trigger.Id));
        }
        return started;
    }

    private async Task<MessageContext> EnlistedContextAsync(NpgsqlTransaction transaction)
    {
        var context = new MessageContext(runtime);
        await context.EnlistInOutboxAsync(new DatabaseEnvelopeTransaction((IMessageDatabase)runtime.Storage, transaction));
        return context;
    }

    private async Task AdvanceAsync(NpgsqlTransaction transaction, IMessageContext bus, StartingRun run, FlowDefinition definition, CancellationToken cancellationToken)
    {
        metrics.RunStarted();
        var context = new JsonObject { ["trigger"] = JsonNode.Parse(run.Input) };
        await engine.AdvanceAsync(transaction, bus, run, definition.Start, context, cancellationToken, definition);
    }

    /// <summary>
    /// Claims the queued triggers and inserts their runs, in one statement. A new run's row is
    /// this transaction's alone until the commit, so unlike a resume it needs no row lock.
    /// </summary>
    private static async Task<List<StartingRun>> ClaimAsync(NpgsqlTransaction transaction, IReadOnlyCollection<Guid> triggerIds)
    {
        var runIds = triggerIds.Select(_ => Guid.CreateVersion7()).ToArray();
        return (await transaction.Connection!.QueryAsync<StartingRun>("""
            WITH claimed AS (
                UPDATE messaging.scheduled_triggers t
                SET status = CASE WHEN f.status = 'active' OR t.source = 'test_send' THEN 'started' ELSE 'skipped' END, started_at = now()
                FROM messaging.flows f, unnest(@triggerIds::uuid[], @runIds::uuid[]) AS x(trigger_id, run_id)
                WHERE t.id = x.trigger_id AND t.status = 'queued' AND f.id = t.flow_id
                RETURNING t.id, COALESCE(t.run_id, x.run_id) AS run_id, t.workspace_id, t.flow_id, t.flow_version, t.contact_id, t.phone_number_id, t.input, t.status
            ), runs AS (
                INSERT INTO messaging.flow_runs (id, workspace_id, flow_id, flow_version, contact_id, trigger_id, phone_number_id, status)
                SELECT run_id, workspace_id, flow_id, flow_version, contact_id, id, phone_number_id, 'running' FROM claimed WHERE status = 'started'
                RETURNING id
            )
            SELECT t.run_id AS id, t.workspace_id, t.flow_id, t.flow_version, t.contact_id, t.phone_number_id, 'running' AS status, 0 AS step,
                   t.input::text AS input, c.wa_id, c.name AS contact_name, c.phone AS contact_phone, c.attributes::text AS attributes
            FROM claimed t JOIN runs r ON r.id = t.run_id JOIN messaging.contacts c ON c.id = t.contact_id
            """, new { triggerIds = triggerIds.ToArray(), runIds }, transaction)).ToList();
    }

    /// <summary>The flow versions' definitions as saved (null: the version is gone).</summary>
    private static async Task<Dictionary<(Guid FlowId, int Version), string?>> DefinitionsAsync(NpgsqlTransaction transaction, IEnumerable<(Guid FlowId, int Version)> versions)
    {
        var keys = versions.Distinct().ToArray();
        var rows = await transaction.Connection!.QueryAsync<VersionRow>("""
            SELECT v.flow_id, v.version, v.definition::text AS definition FROM messaging.flow_versions v
            JOIN unnest(@flows::uuid[], @numbers::integer[]) AS k(flow_id, version) ON k.flow_id = v.flow_id AND k.version = v.version
            """, new { flows = keys.Select(k => k.FlowId).ToArray(), numbers = keys.Select(k => k.Version).ToArray() }, transaction);
        var definitions = keys.ToDictionary(k => k, _ => (string?)null);
        foreach (var row in rows)
        {
            definitions[(row.FlowId, row.Version)] = row.Definition;
        }
        return definitions;
    }

    private static FlowDefinition? TryParse(string? definition)
    {
        try
        {
            return definition is null ? null : FlowDefinition.Parse(definition);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            return null; // ExecuteTrigger will fail on it too, and dead-letter it for an operator to see
        }
    }

    private sealed record VersionRow(Guid FlowId, int Version, string Definition);
}
