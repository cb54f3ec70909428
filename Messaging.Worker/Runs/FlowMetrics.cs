using System.Diagnostics.Metrics;
using Npgsql;

namespace Funnels.Messaging.Runs;

/// <summary>Meter "Funnels.Messaging": runs, steps, sends, waits and how late scheduled wake-ups fire.</summary>
public sealed class FlowMetrics
{
    public const string MeterName = "Funnels.Messaging";

    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _sends;
    private readonly Histogram<double> _lateness;
    private readonly Counter<long> _waitsInterrupted;
    private readonly Counter<long> _triggersHeld;
    private readonly Counter<long> _graphAnswers;
    private readonly Counter<long> _deliveryStatuses;
    private readonly Counter<long> _errorNotifications;
    private readonly NpgsqlDataSource _dataSource;
    private long _pendingWaits;
    private DateTime _pendingReadAt = DateTime.MinValue;

    public FlowMetrics(IMeterFactory meters, NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        var meter = meters.Create(MeterName);
        _started = meter.CreateCounter<long>("funnels.flows.runs_started", description: "Flow runs started");
        _completed = meter.CreateCounter<long>("funnels.flows.runs_completed", description: "Flow runs that reached their end");
        _failed = meter.CreateCounter<long>("funnels.flows.runs_failed", description: "Flow runs that failed");
        _steps = meter.CreateCounter<long>("funnels.flows.steps_executed", description: "Flow steps executed, by node type");
        _sends = meter.CreateCounter<long>("funnels.whatsapp.sends", description: "Graph API sends by outcome (sent, retrying, dead_lettered, failed, rate_limited, throttled, pair_waiting, paused)");
        _lateness = meter.CreateHistogram<double>("funnels.flows.scheduling_lateness", unit: "s", description: "From a wait's due time to when it ran");
        _waitsInterrupted = meter.CreateCounter<long>("funnels.flows.waits_interrupted", description: "Runs waiting for a reply cancelled because the message started another flow");
        _triggersHeld = meter.CreateCounter<long>("funnels.flows.triggers_held_by_wait", description: "Messages matching another flow's trigger taken as a waiting run's reply (trigger_interrupts_wait false)");
        _graphAnswers = meter.CreateCounter<long>("funnels.whatsapp.graph_errors", description: "Graph API refusals of sends, by Meta's error code and what was done (throttled, transient, permanent, token_invalid)");
        _deliveryStatuses = meter.CreateCounter<long>("funnels.whatsapp.delivery_statuses", description: "Meta's status webhooks for messages we sent, by status and whether they changed the message");
        _errorNotifications = meter.CreateCounter<long>("funnels.whatsapp.error_notifications", description: "Meta's asynchronous errors[] notifications, by code");
        meter.CreateObservableGauge("funnels.flows.waits_pending", PendingWaits, description: "Runs waiting for a delay or a reply (all instances)");
    }

    public void RunStarted() => _started.Add(1);
    public void RunCompleted() => _completed.Add(1);
    public void RunFailed() => _failed.Add(1);
    public void StepExecuted(string nodeType) => _steps.Add(1, new KeyValuePair<string, object?>("node_type", nodeType));
    public void Sent(string status) => _sends.Add(1, new KeyValuePair<string, object?>("status", status));
    public void WaitInterrupted() => _waitsInterrupted.Add(1);
    public void TriggerHeldByWait() => _triggersHeld.Add(1);
    public void GraphError(string kind, int? code) =>
        _graphAnswers.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("code", code?.ToString() ?? "none"));
    public void DeliveryStatus(string status, bool applied) =>
        _deliveryStatuses.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("applied", applied));
    public void ErrorNotification(int? code) => _errorNotifications.Add(1, new KeyValuePair<string, object?>("code", code?.ToString() ?? "none"));
    public void WaitFinished(DateTimeOffset dueAt) => _lateness.Record(Math.Max(0, (DateTimeOffset.UtcNow - dueAt).TotalSeconds));

    // Read from the database (all instances' runs), at most every 10 s however often it is collected.
    private long PendingWaits()
    {
        if (DateTime.UtcNow - _pendingReadAt > TimeSpan.FromSeconds(10))
        {
            _pendingReadAt = DateTime.UtcNow;
            try
            {
                using var command = _dataSource.CreateCommand("SELECT count(*) FROM messaging.flow_runs WHERE status = 'waiting'");
                command.CommandTimeout = 2;
                _pendingWaits = (long)command.ExecuteScalar()!;
            }
            catch (NpgsqlException)
            {
                // Keep the last value; the database's own health check reports the outage.
            }
        }
        return _pendingWaits;
    }
}
