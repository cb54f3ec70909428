using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// A workspace where every captured lead has two LeadCaptured effects the fault tests count in
/// the database and at the receivers: one signed webhook delivery (to a local CRM stand-in) and
/// one run of a flow that texts the lead on WhatsApp (through the fake Graph API).
/// </summary>
public sealed partial class LeadWorld : IAsyncDisposable
{
    // Generous: the machine the tests run on may be shared and busy; a healthy run drains in seconds.
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(120);
    private readonly Hosts _hosts;
    private readonly WhatsAppKit _kit;
    private readonly WebhookReceiver _crm;

    private LeadWorld(Hosts hosts, WhatsAppKit kit, WebhookReceiver crm, IReadOnlyList<TestFunnel> funnels)
    {
        _hosts = hosts;
        _kit = kit;
        _crm = crm;
        Funnels = funnels;
    }

    public IReadOnlyList<TestFunnel> Funnels { get; }

    public TestWorkspace Workspace => _kit.Workspace;

    public Guid WorkspaceId => _kit.Workspace.Id;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<LeadWorld> CreateAsync(Hosts hosts, int funnels = 2)
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var crm = await WebhookReceiver.StartAsync();
        (await kit.Workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = crm.Url, events = new[] { "lead.captured" } }, Cancel))
            .EnsureSuccessStatusCode();
        var flow = new JsonObject
        {
            ["name"] = "Welcome every lead",
            ["status"] = "active",
            ["channel_phone_number_id"] = kit.PhoneNumberId,
            ["triggers"] = new JsonArray(new JsonObject { ["type"] = "lead_captured" }),
            ["definition"] = JsonNode.Parse("""
                {"start": "hello", "nodes": {
                  "hello": {"type": "send_text", "text": "Hello {{contact.name}}", "next": "done"},
                  "done": {"type": "end"}}}
                """),
        };
        var saved = await kit.Workspace.Worker.PostAsync("/api/messaging/flows", new StringContent(flow.ToJsonString(), Encoding.UTF8, "application/json"), Cancel);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Cancel));
        var published = new List<TestFunnel>();
        for (var i = 0; i < funnels; i++)
        {
            published.Add(await TestFunnel.PublishAsync(kit.Workspace));
        }
        return new LeadWorld(hosts, kit, crm, published);
    }

    public LeadBurst StartBurst() => LeadBurst.Start(Funnels);

    /// <summary>Runs of the flow that have completed so far.</summary>
    public Task<long> CompletedRunsAsync() => _hosts.Servers.CountAsync(
        "SELECT count(*) FROM messaging.flow_runs WHERE workspace_id = @WorkspaceId AND status = 'completed'", new { WorkspaceId });

    /// <summary>
    /// The leads are exactly those answered 202, each whole (with its lead event); once the
    /// worker drained, each has one delivered webhook and one completed run: never none, never two.
    /// The receivers got each delivery and each accepted lead's text exactly once, or once more for
    /// what was in flight at one of the <paramref name="faults"/> (<see cref="InFlight"/>).
    /// </summary>
    public async Task AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(IReadOnlyList<LeadBurst.Answer> answers, params InFlight[] faults)
    {
        var accepted = answers.Where(a => a.Status == HttpStatusCode.Accepted).Select(a => a.LeadId).Order().ToList();
        Assert.NotEmpty(accepted);
        await using var db = new NpgsqlConnection(_hosts.Servers.Postgres);
        var leads = (await db.QueryAsync<Guid>("SELECT id FROM runtime.leads WHERE workspace_id = @WorkspaceId ORDER BY id", new { WorkspaceId })).ToList();
        Assert.Equal(accepted, leads);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM runtime.leads l
            WHERE l.workspace_id = @WorkspaceId AND NOT EXISTS (SELECT 1 FROM runtime.lead_events e WHERE e.lead_id = l.id)
            """, new { WorkspaceId }));

        try
        {
            await Eventually.Until(async () => await db.ExecuteScalarAsync<long>(Undrained, new { WorkspaceId }) == 0 ? "drained" : null,
                Drain, $"a delivered webhook and a completed run for each of {accepted.Count} leads");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await DescribeAsync(db)}", e);
        }

        var deliveries = (await db.QueryAsync<(string Lead, long Count)>("""
            SELECT event_key, count(*) FROM messaging.webhook_deliveries
            WHERE workspace_id = @WorkspaceId AND event_type = 'lead.captured' GROUP BY event_key
            """, new { WorkspaceId })).ToList();
        Assert.Equal(accepted.Select(id => id.ToString()).Order(), deliveries.Select(d => d.Lead).Order());
        Assert.All(deliveries, d => Assert.Equal(1, d.Count));

        var runs = (await db.QueryAsync<(string Lead, long Count)>("""
            SELECT split_part(t.source_key, ':', 2), count(r.id) FROM messaging.scheduled_triggers t JOIN messaging.flow_runs r ON r.trigger_id = t.id
            WHERE t.workspace_id = @WorkspaceId GROUP BY 1
            """, new { WorkspaceId })).ToList();
        Assert.Equal(accepted.Select(id => id.ToString()).Order(), runs.Select(r => r.Lead).Order());
        Assert.All(runs, r => Assert.Equal(1, r.Count));
        Assert.Equal(accepted.Count, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messaging.flow_runs WHERE workspace_id = @WorkspaceId", new { WorkspaceId }));
        // No step of any run executed twice.
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM (SELECT s.run_id, s.node_id FROM messaging.flow_run_steps s JOIN messaging.flow_runs r ON r.id = s.run_id
                                  WHERE r.workspace_id = @WorkspaceId GROUP BY 1, 2 HAVING count(*) > 1) twice
            """, new { WorkspaceId }));

        // What left the system, counted at the receivers (a retry repeats its delivery id; receivers
        // dedupe on it, but only a fault's in-flight work may be repeated).
        var phones = answers.Where(a => a.Status == HttpStatusCode.Accepted).Select(a => new string(a.Phone.Where(char.IsAsciiDigit).ToArray())).ToList();
        await AssertReceiversGotEachOnceAsync(db, phones, faults);
    }

    private const string Undrained = """
        SELECT count(*) FROM runtime.leads l WHERE l.workspace_id = @WorkspaceId AND (
          NOT EXISTS (SELECT 1 FROM messaging.webhook_deliveries d
                      WHERE d.workspace_id = l.workspace_id AND d.event_type = 'lead.captured' AND d.event_key = l.id::text AND d.status = 'delivered')
          OR NOT EXISTS (SELECT 1 FROM messaging.scheduled_triggers t JOIN messaging.flow_runs r ON r.trigger_id = t.id
                         WHERE t.workspace_id = l.workspace_id AND t.source_key LIKE 'lead:' || l.id || ':%' AND r.status = 'completed'))
        """;

    /// <summary>Where the undrained leads are stuck, to explain a failure.</summary>
    private async Task<string> DescribeAsync(NpgsqlConnection db)
    {
        var figures = await db.QuerySingleAsync<(long Leads, long Deliveries, long Delivered, long Triggers, long Runs, long Completed, long Incoming, long Outgoing, long DeadLetters)>("""
            SELECT (SELECT count(*) FROM runtime.leads WHERE workspace_id = @WorkspaceId),
                   (SELECT count(*) FROM messaging.webhook_deliveries WHERE workspace_id = @WorkspaceId),
                   (SELECT count(*) FROM messaging.webhook_deliveries WHERE workspace_id = @WorkspaceId AND status = 'delivered'),
                   (SELECT count(*) FROM messaging.scheduled_triggers WHERE workspace_id = @WorkspaceId),
                   (SELECT count(*) FROM messaging.flow_runs WHERE workspace_id = @WorkspaceId),
                   (SELECT count(*) FROM messaging.flow_runs WHERE workspace_id = @WorkspaceId AND status = 'completed'),
                   (SELECT count(*) FROM messaging_wolverine.wolverine_incoming_envelopes),
                   (SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes),
                   (SELECT count(*) FROM messaging_wolverine.wolverine_dead_letters)
            """, new { WorkspaceId });
        var dead = await db.QueryAsync<string>(
            "SELECT message_type || ': ' || exception_type || ': ' || left(exception_message, 200) FROM messaging_wolverine.wolverine_dead_letters ORDER BY sent_at DESC LIMIT 5");
        var inbox = await db.QueryAsync<string>("""
            SELECT message_type || ' ' || status || ' owner ' || owner_id || ': ' || count(*) FROM messaging_wolverine.wolverine_incoming_envelopes GROUP BY message_type, status, owner_id
            UNION ALL SELECT 'outgoing ' || message_type || ' to ' || destination || ': ' || count(*) FROM messaging_wolverine.wolverine_outgoing_envelopes GROUP BY message_type, destination
            UNION ALL SELECT 'trigger ' || status || ': ' || count(*) FROM messaging.scheduled_triggers WHERE workspace_id = @WorkspaceId GROUP BY status
            """, new { WorkspaceId });
        return $"{figures}\n{string.Join("\n", inbox)}\ndead letters: {string.Join("\n", dead)}";
    }

    public ValueTask DisposeAsync()
    {
        _kit.Workspace.Dispose();
        return _crm.DisposeAsync();
    }
}
