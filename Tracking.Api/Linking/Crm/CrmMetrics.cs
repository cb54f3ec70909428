using System.Diagnostics.Metrics;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>Meter "Funnels.Tracking": CRM deliveries by adapter and outcome (linked, confirmed, relinked, conflict, no_visitor_id, ignored, invalid, unauthorized).</summary>
public sealed class CrmMetrics
{
    public const string MeterName = "Funnels.Tracking";

    private readonly Counter<long> _deliveries;

    public CrmMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _deliveries = meter.CreateCounter<long>("funnels.crm.contacts", description: "CRM webhook contacts and deliveries by adapter and outcome");
    }

    public void Delivery(string adapter, string outcome, int count = 1) =>
        _deliveries.Add(count, new KeyValuePair<string, object?>("adapter", adapter), new KeyValuePair<string, object?>("outcome", outcome));
}
