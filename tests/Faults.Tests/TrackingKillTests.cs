using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// Tracking.Api dies by SIGKILL while CRM webhooks are linking visitors and its outbox holds
/// VisitorLinkedToContact envelopes it has not sent (the broker is down), and is started again through Aspire.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class TrackingKillTests(Hosts hosts)
{
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(120);
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_tracking_api_killed_mid_link_keeps_every_answered_link_once_sends_its_outbox_after_restart_and_half_writes_nothing()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var admin = hosts.Tracking.CreateAdminClient(workspace.Id);
        var secret = await admin.PostAsync("/api/tracking/settings/crm-secret", null, Cancel);
        secret.EnsureSuccessStatusCode();
        var crmSecret = (await secret.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("secret").GetString()!;
        (await admin.PutAsJsonAsync("/api/tracking/settings", new { visitor_field = "fid_vid", storage_key = "_ud" }, TestWorkspace.Json, Cancel)).EnsureSuccessStatusCode();

        await using var tracking = await ServiceProcess.TrackingAsync(hosts);
        try
        {
            var load = LinkLoad.Start(workspace.Id, crmSecret, tracking.CreateClient, posters: 6, pause: TimeSpan.FromMilliseconds(100));
            await load.WaitForMoreAsync(6, "linked with the broker up", l => l.Webhook == HttpStatusCode.OK);

            // With the broker down each link commits with its VisitorLinkedToContact envelope, which
            // stays in the outbox table: what the process holds when it dies.
            await hosts.Servers.StopAsync("rabbitmq");
            int killed;
            string[] inFlight;
            long unsent;
            try
            {
                await load.WaitForMoreAsync(10, "linked with the broker down", l => l.Webhook == HttpStatusCode.OK);
                string[] caught = [];
                killed = await tracking.KillAsync(async () => caught = await load.WaitForInFlightAsync(3));
                inFlight = caught;
                unsent = await hosts.Servers.CountAsync(
                    "SELECT count(*) FROM tracking_wolverine.wolverine_outgoing_envelopes WHERE message_type LIKE '%VisitorLinkedToContact%'");
            }
            finally
            {
                await hosts.Servers.StartAsync("rabbitmq");
            }
            await tracking.StartAgainAsync(killed);
            await load.WaitForMoreAsync(6, "linked after Tracking.Api is back", l => l.Webhook == HttpStatusCode.OK);
            var links = await load.StopAsync();

            Assert.True(unsent > 0, "no VisitorLinkedToContact envelope was waiting in the outbox when Tracking.Api was killed");
            Assert.NotEmpty(inFlight);
            // An answer or none at all: the kill is not a 500.
            Assert.All(links, l => Assert.True(l.Collect is HttpStatusCode.Accepted or CaptureLoad.NoAnswer, $"collect {l.Collect}"));
            Assert.All(links, l => Assert.True(l.Webhook is null or HttpStatusCode.OK or CaptureLoad.NoAnswer, $"webhook {l.Webhook}"));
            // The kill cut off links under way: they got no answer.
            Assert.Contains(links, l => l.Webhook == CaptureLoad.NoAnswer && inFlight.Contains(l.Visitor));
            await AssertEachLinkOnceAndWholeAsync(workspace.Id, links);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\ntracking-api log:\n{tracking.Log}");
        }
    }

    /// <summary>
    /// Each accepted collect's session once; each answered link once, its session linked, and (sent
    /// from the outbox, after the restart for those the kill caught) its VisitorLinkedToContact handled
    /// by Runtime.Api; each unanswered link absent in both services, or all of that.
    /// </summary>
    private async Task AssertEachLinkOnceAndWholeAsync(Guid workspaceId, IReadOnlyList<LinkLoad.Link> links)
    {
        await using var db = new NpgsqlConnection(hosts.Servers.Postgres);
        var sessions = (await db.QueryAsync<(string Visitor, string Id, string? Contact)>(
            "SELECT visitor_id, id, contact_id FROM tracking.sessions WHERE workspace_id = @workspaceId", new { workspaceId })).ToDictionary(s => s.Visitor);
        var linked = (await db.QueryAsync<(string Visitor, string Contact)>(
            "SELECT visitor_id, contact_id FROM tracking.visitor_links WHERE workspace_id = @workspaceId", new { workspaceId })).ToDictionary(l => l.Visitor, l => l.Contact);
        foreach (var link in links)
        {
            if (link.Collect == HttpStatusCode.Accepted)
            {
                Assert.Equal(link.Session, sessions[link.Visitor].Id);
            }
            if (link.Webhook == HttpStatusCode.OK)
            {
                Assert.Equal(link.Contact, linked[link.Visitor]);
            }
            if (linked.TryGetValue(link.Visitor, out var contact))
            {
                Assert.Equal(link.Contact, contact);
                Assert.Equal(link.Contact, sessions[link.Visitor].Contact);
            }
            else if (sessions.TryGetValue(link.Visitor, out var session))
            {
                Assert.Null(session.Contact);
            }
        }
        // Every visitor a session was written for was one the load posted: one session each.
        Assert.Subset(links.Select(l => l.Visitor).ToHashSet(), sessions.Keys.ToHashSet());

        // Runtime.Api remembers exactly the links Tracking.Api committed.
        const string remembered = "SELECT visitor_id, contact_id FROM runtime.visitor_contacts WHERE workspace_id = @workspaceId";
        await Eventually.Until(async () => (await db.QueryAsync<(string, string)>(remembered, new { workspaceId })).Count() >= linked.Count ? "drained" : null,
            Drain, $"Runtime.Api to hear of {linked.Count} links");
        var runtime = (await db.QueryAsync<(string Visitor, string Contact)>(remembered, new { workspaceId })).ToDictionary(l => l.Visitor, l => l.Contact);
        Assert.Equal(linked.OrderBy(l => l.Key), runtime.OrderBy(l => l.Key));
    }
}
