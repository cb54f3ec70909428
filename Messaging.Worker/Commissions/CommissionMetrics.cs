using System.Diagnostics.Metrics;
using Funnels.Messaging.Runs;

namespace Funnels.Messaging.Commissions;

/// <summary>
/// Meter "Funnels.Messaging": what happened to commissions and payouts, by outcome (owed, capped,
/// nothing_due, redrawn, paid, cancelled, reversed) and kind (conversion, traffic).
/// </summary>
public sealed class CommissionMetrics
{
    private readonly Counter<long> _outcomes;

    public CommissionMetrics(IMeterFactory meters) =>
        _outcomes = meters.Create(FlowMetrics.MeterName).CreateCounter<long>("funnels.commissions.outcomes",
            description: "Commissions and payouts by outcome (owed, capped, nothing_due, redrawn, paid, cancelled, reversed) and kind");

    public void Counted(string outcome, string kind) =>
        _outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("kind", kind));
}
