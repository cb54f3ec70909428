using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>What left the system, counted at the receivers: each accepted lead's webhook delivery and text exactly once.</summary>
public sealed partial class LeadWorld
{
    /// <summary>The CRM stand-in receiving this workspace's lead.captured webhooks.</summary>
    public WebhookReceiver Crm => _crm;

    public ReceiptMark Mark() => new(_crm.Requests.Count, _hosts.Graph.SentFor(_kit.PhoneNumberId).Count);

    /// <summary>
    /// Deliveries and texts whose first receipt came between the two marks: the work in flight
    /// while a fault was under way (a database stop: a call answered just before it, its commit lost).
    /// </summary>
    public InFlight FirstReceivedBetween(ReceiptMark from, ReceiptMark to)
    {
        var deliveries = _crm.Requests.Select(DeliveryId).ToList();
        var texts = _hosts.Graph.SentFor(_kit.PhoneNumberId).Select(r => r.To).ToList();
        return new InFlight(FirstIn(deliveries, from.Deliveries, to.Deliveries), FirstIn(texts, from.Texts, to.Texts));
    }

    /// <summary>
    /// Deliveries and texts the receivers took whose row is not committed as done, read right after
    /// the worker was killed: the work it had in hand (the held requests among them).
    /// </summary>
    public async Task<InFlight> UncommittedAsync()
    {
        await using var db = new NpgsqlConnection(_hosts.Servers.Postgres);
        var delivered = (await db.QueryAsync<Guid>(
            "SELECT id FROM messaging.webhook_deliveries WHERE workspace_id = @WorkspaceId AND status = 'delivered'", new { WorkspaceId }))
            .Select(id => id.ToString()).ToHashSet();
        var sent = (await db.QueryAsync<string>(
            "SELECT to_wa_id FROM messaging.outbound_messages WHERE workspace_id = @WorkspaceId AND status = 'sent'", new { WorkspaceId })).ToHashSet();
        return new InFlight(
            _crm.Requests.Select(DeliveryId).Where(id => !delivered.Contains(id)).ToHashSet(),
            _hosts.Graph.SentFor(_kit.PhoneNumberId).Select(r => r.To).Where(to => !sent.Contains(to)).ToHashSet());
    }

    /// <summary>
    /// Once every delivery and send of the workspace was consumed (so none can still reach a
    /// receiver): the CRM got each delivered delivery id, the Graph API each accepted lead's text,
    /// and no lead refused is texted; each exactly once, or once more for work in flight at a fault.
    /// </summary>
    private async Task AssertReceiversGotEachOnceAsync(NpgsqlConnection db, IReadOnlyList<string> acceptedPhones, IReadOnlyList<InFlight> faults)
    {
        await _hosts.Servers.WebhookDeliveriesHandledAsync(WorkspaceId, Drain);
        var outbound = (await db.QueryAsync<Guid>("SELECT id FROM messaging.outbound_messages WHERE workspace_id = @WorkspaceId", new { WorkspaceId }))
            .Select(id => id.ToString()).ToArray();
        Assert.Equal(acceptedPhones.Count, outbound.Length);
        await _hosts.Servers.HandledAsync("messaging", "SendWhatsAppMessage", outbound, outbound.Length, Drain);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messaging.outbound_messages WHERE workspace_id = @WorkspaceId AND status <> 'sent'", new { WorkspaceId }));

        var delivered = (await db.QueryAsync<Guid>("""
            SELECT id FROM messaging.webhook_deliveries WHERE workspace_id = @WorkspaceId AND event_type = 'lead.captured'
            """, new { WorkspaceId })).Select(id => id.ToString()).Order().ToList();
        var requests = _crm.Requests.GroupBy(DeliveryId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(delivered, requests.Keys.Order());
        AssertOnceOrOnceMorePerFault(requests, faults, f => f.Deliveries, "webhook delivery");

        var texts = _hosts.Graph.SentFor(_kit.PhoneNumberId).GroupBy(r => (r.To, r.Text)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(acceptedPhones.Order().Select(to => (to, (string?)"Hello Ana")), texts.Keys.OrderBy(k => k.To));
        AssertOnceOrOnceMorePerFault(texts.ToDictionary(t => t.Key.To, t => t.Value), faults, f => f.Texts, "text to");
    }

    private static void AssertOnceOrOnceMorePerFault(
        Dictionary<string, int> received, IReadOnlyList<InFlight> faults, Func<InFlight, IReadOnlySet<string>> inFlight, string what)
    {
        var wrong = received
            .Select(r => (r.Key, Count: r.Value, Allowed: 1 + faults.Count(f => inFlight(f).Contains(r.Key))))
            .Where(r => r.Count > r.Allowed).ToList();
        Assert.True(wrong.Count == 0, $"received more often than once (plus once per fault it was in flight at): " +
            string.Join(", ", wrong.Take(5).Select(r => $"{what} {r.Key} {r.Count} times (allowed {r.Allowed})")));
    }

    private static HashSet<string> FirstIn(List<string> receipts, int from, int to)
    {
        var seen = new HashSet<string>();
        var first = new HashSet<string>();
        for (var i = 0; i < receipts.Count; i++)
        {
            if (seen.Add(receipts[i]) && i >= from && i < to)
            {
                first.Add(receipts[i]);
            }
        }
        return first;
    }

    private static string DeliveryId(WebhookReceiver.Received request) => request.Headers["X-Funnels-Delivery"];
}
