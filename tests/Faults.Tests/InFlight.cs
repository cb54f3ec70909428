namespace Funnels.Faults.Tests;

/// <summary>
/// What the receivers had taken at a fault that the worker may not have committed: webhook
/// deliveries (by delivery id) and WhatsApp texts (by recipient). The worker calls a receiver
/// inside its handler and commits after the answer, so a fault between the receiver's 2xx (Meta's
/// 200) and the commit repeats the call once the work is picked up again: by design each of these
/// may reach its receiver once more, and nothing else may.
/// </summary>
public sealed record InFlight(IReadOnlySet<string> Deliveries, IReadOnlySet<string> Texts)
{
    public override string ToString() => $"{Deliveries.Count} webhook deliveries and {Texts.Count} texts in flight";
}

/// <summary>How many requests each receiver of a <see cref="LeadWorld"/> had recorded at one moment.</summary>
public sealed record ReceiptMark(int Deliveries, int Texts);
