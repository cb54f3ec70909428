using System.Diagnostics.Metrics;

namespace Funnels.Runtime.WhatsApp;

/// <summary>Meter "Funnels.Runtime": Meta deliveries accepted, and refused by reason (bad_signature, mixed_apps, too_large, not_configured, secret_unreadable).</summary>
public sealed class MetaWebhookMetrics(IMeterFactory meters)
{
    private readonly Counter<long> _deliveries = meters.Create("Funnels.Runtime").CreateCounter<long>("funnels.whatsapp.webhook_deliveries", description: "Meta webhook deliveries by outcome");

    public void Accepted() => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", "accepted"));

    public void Refused(string reason) => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", reason));
}
