using System.Diagnostics.Metrics;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>
/// Meter "Funnels.Tracking": CRM deliveries by adapter and outcome (linked, confirmed, relinked, conflict, no_visitor_id, ignored,
/// invalid, unauthorized), and workspace CRM secrets found in plain text (protected_at_startup, protected_on_first_use, not_protected).
/// </summary>
public sealed class CrmMetrics
{
    public const string MeterName = "Funnels.Tracking";

    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _plaintextSecrets;

    public CrmMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _deliveries = meter.CreateCounter<long>("funnels.crm.contacts", description: "CRM webhook contacts and deliveries by adapter and outcome");
        _plaintextSecrets = meter.CreateCounter<long>("funnels.crm.plaintext_secrets", description: "Workspace CRM secrets kept in plain text before migration 0010, by what became of them");
    }

    public void Delivery(string adapter, string outcome, int count = 1) =>
        _deliveries.Add(count, new KeyValuePair<string, object?>("adapter", adapter), new KeyValuePair<string, object?>("outcome", outcome));

    public void PlaintextSecret(string outcome, int count = 1) =>
        _plaintextSecrets.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
}
