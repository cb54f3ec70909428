using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Visitors linked to CRM contacts: race-free, idempotent, late sessions included, conflicts recorded.</summary>
[Collection(ServicesCollection.Name)]
public sealed class LinkingTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Webhook_and_fallback_raced_with_many_new_sessions_link_every_session_exactly_once()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts, visitorField: "rstk_vid");
        var visitor = TrackedWorkspace.NewVisitorId();
        var contact = TrackedWorkspace.NewId("c");
        var earlier = Enumerable.Range(0, 15).Select(_ => TrackedWorkspace.NewId("s")).ToList();
        foreach (var session in earlier)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(visitor, session)).StatusCode);
        }

        // At the same instant: the CRM webhook (id in customData, GoHighLevel's field name),
        // the page's fallback identify, and fifteen more sessions of the same visitor.
        var later = Enumerable.Range(0, 15).Select(_ => TrackedWorkspace.NewId("s")).ToList();
        using var start = new SemaphoreSlim(0);
        async Task<HttpResponseMessage> Go(Func<Task<HttpResponseMessage>> send) { await start.WaitAsync(Cancel); return await send(); }
        var webhook = Go(() => tracked.CrmWebhookAsync(new { contact_id = contact, email = "Raced@Example.com", phone = "+573001112233", customData = new { rstk_vid = visitor } }));
        var identify = Go(() => tracked.IdentifyAsync(visitor, contact));
        var sessions = later.Select(s => Go(() => tracked.PageViewAsync(visitor, s))).ToList();
        start.Release(2 + later.Count);
        var responses = await Task.WhenAll([webhook, identify, .. sessions]);

        Assert.All(responses, r => Assert.True(r.IsSuccessStatusCode, $"{r.RequestMessage!.RequestUri} answered {r.StatusCode}"));
        var outcomes = new[]
        {
            (await TrackedWorkspace.BodyAsync(await webhook)).GetProperty("link").GetString(),
            (await TrackedWorkspace.BodyAsync(await identify)).GetProperty("result").GetString(),
        };
        Assert.Equal("confirmed,linked", string.Join(",", outcomes.Order()));
        Assert.Equal(30, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND visitor_id = @visitor AND contact_id = @contact", new { tracked.Id, visitor, contact }));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND contact_id IS NULL", new { tracked.Id }));
        Assert.Equal(1, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @Id AND confirmations = 1", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id", new { tracked.Id }));
        Assert.Equal("raced@example.com", await hosts.Servers.ScalarAsync<string>(
            "SELECT email FROM tracking.contacts WHERE workspace_id = @Id AND id = @contact", new { tracked.Id, contact }));
    }

    [Fact]
    public async Task Sessions_arriving_after_the_link_are_linked_on_arrival()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
        var linked = await TrackedWorkspace.BodyAsync(await tracked.CrmWebhookAsync(new { contact_id = "ghl-1", fid_vid = visitor }));
        Assert.Equal("linked", linked.GetProperty("link").GetString());
        Assert.Equal(1, linked.GetProperty("sessions_linked").GetInt32());

        var late = TrackedWorkspace.NewId("s");
        var collected = await TrackedWorkspace.BodyAsync(await tracked.PageViewAsync(visitor, late));

        Assert.True(collected.GetProperty("linked").GetBoolean());
        var page = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/visitors/{visitor}/sessions", Cancel);
        var rows = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("ghl-1", r.GetProperty("contact_id").GetString()));
        Assert.Equal("on_arrival", rows.Single(r => r.GetProperty("id").GetString() == late).GetProperty("link_method").GetString());
    }

    [Fact]
    public async Task A_visitor_already_linked_is_not_repointed_to_another_contact_and_the_conflict_is_recorded()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
        await tracked.CrmWebhookAsync(new { contact_id = "first", fid_vid = visitor });

        var second = await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(visitor, "second"));

        Assert.Equal("conflict", second.GetProperty("result").GetString());
        Assert.Equal("first", second.GetProperty("linked_contact_id").GetString());
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND contact_id IS DISTINCT FROM 'first'", new { tracked.Id }));
        var conflicts = await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/linking/conflicts", Cancel);
        var conflict = Assert.Single(conflicts.GetProperty("items").EnumerateArray());
        Assert.Equal(("first", "second", "identify"), (conflict.GetProperty("linked_contact_id").GetString(),
            conflict.GetProperty("attempted_contact_id").GetString(), conflict.GetProperty("method").GetString()));
    }

    [Fact]
    public async Task Two_contacts_racing_for_one_visitor_leave_one_link_and_the_other_claim_recorded_as_a_conflict()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // Five visitors, each claimed at the same instant by two signed CRM webhooks naming different contacts.
        var visitors = Enumerable.Range(0, 5).Select(_ => TrackedWorkspace.NewVisitorId()).ToList();
        foreach (var visitor in visitors)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"))).StatusCode);
        }
        using var start = new SemaphoreSlim(0);
        async Task<(string Visitor, string Contact, JsonElement Body)> Claim(string visitor, string contact)
        {
            await start.WaitAsync(Cancel);
            var response = await tracked.CrmWebhookAsync(new { contact_id = contact, fid_vid = visitor });
            Assert.True(response.IsSuccessStatusCode, $"{contact} answered {response.StatusCode}");
            return (visitor, contact, await TrackedWorkspace.BodyAsync(response));
        }
        var claims = visitors.SelectMany(v => new[] { Claim(v, "a-" + v), Claim(v, "b-" + v) }).ToList();
        start.Release(claims.Count);
        var answers = await Task.WhenAll(claims);

        foreach (var visitor in visitors)
        {
            var pair = answers.Where(a => a.Visitor == visitor).ToList();
            Assert.Equal("conflict,linked", string.Join(",", pair.Select(a => a.Body.GetProperty("link").GetString()).Order()));
            var winner = pair.Single(a => a.Body.GetProperty("link").GetString() == "linked").Contact;
            var loser = pair.Single(a => a.Contact != winner).Contact;
            // One link, to the winner; its sessions follow it; the loser's claim is a recorded conflict, not a second link.
            Assert.Equal(winner, await hosts.Servers.ScalarAsync<string>(
                "SELECT contact_id FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
            Assert.Equal(0, await hosts.Servers.CountAsync(
                "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND visitor_id = @visitor AND contact_id IS DISTINCT FROM @winner",
                new { tracked.Id, visitor, winner }));
            Assert.Equal(1, await hosts.Servers.CountAsync(
                "SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id AND visitor_id = @visitor AND linked_contact_id = @winner AND attempted_contact_id = @loser",
                new { tracked.Id, visitor, winner, loser }));
        }
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.visitor_link_history WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task Crm_webhooks_need_the_workspace_secret_and_name_the_bad_field()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var visitor = TrackedWorkspace.NewVisitorId();

        var forged = await tracked.CrmWebhookAsync(new { contact_id = "x", fid_vid = visitor }, signWith: "not-the-secret");
        using var noAuth = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{tracked.Id}") { Content = JsonContent.Create(new { contact_id = "x" }) };
        var missing = await tracked.Public.SendAsync(noAuth, Cancel);
        using var withToken = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{tracked.Id}") { Content = JsonContent.Create(new { id = "by-token", email = "t@example.com" }) };
        withToken.Headers.Add("X-Funnels-Token", tracked.CrmSecret);
        var token = await tracked.Public.SendAsync(withToken, Cancel);
        var invalid = await tracked.CrmWebhookAsync(new { email = "no-id@example.com", customData = new { fid_vid = visitor } });
        var badPhone = await tracked.CrmWebhookAsync(new { contact_id = "y", phone = new string('1', 40) });

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        // No contact id: the answer says which adapter expected what, not a field the body never meant to send.
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var body = Assert.Single((await TrackedWorkspace.BodyAsync(invalid)).GetProperty("errors").GetProperty("body").EnumerateArray()).GetString();
        Assert.Contains("gohighlevel adapter expects", body);
        Assert.Contains("contact_id", body);
        Assert.True((await TrackedWorkspace.BodyAsync(badPhone)).GetProperty("errors").TryGetProperty("phone", out _));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task A_linked_visitors_lead_in_the_runtime_is_joined_to_the_contact()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(tracked.Workspace);
        var visitor = TrackedWorkspace.NewVisitorId();
        var submitted = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("linked@example.com", visitorId: visitor));
        var leadId = (await TrackedWorkspace.BodyAsync(submitted)).GetProperty("lead_id").GetGuid();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));

        await tracked.CrmWebhookAsync(new { contact_id = "crm-42", email = "linked@example.com", fid_vid = visitor });

        var contact = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id FROM runtime.leads WHERE id = @leadId", new { leadId }), TimeSpan.FromSeconds(30), "the lead to be joined to the contact");
        Assert.Equal("crm-42", contact);
        var lead = await tracked.Workspace.Runtime.GetFromJsonAsync<JsonElement>($"/api/runtime/leads/{leadId}", Cancel);
        Assert.Equal("crm-42", lead.GetProperty("contact_id").GetString());

        // A lead of the same visitor written after the link is joined on insert.
        var otherFunnel = await TestFunnel.PublishAsync(tracked.Workspace);
        var later = await otherFunnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("second-form@example.com", visitorId: visitor));
        var laterId = (await TrackedWorkspace.BodyAsync(later)).GetProperty("lead_id").GetGuid();
        Assert.Equal("crm-42", await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @laterId", new { laterId }));
    }

    [Fact]
    public async Task Link_rate_and_latency_figures_are_reported_by_method()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        for (var i = 0; i < 3; i++)
        {
            var visitor = TrackedWorkspace.NewVisitorId();
            await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
            if (i < 2) await tracked.CrmWebhookAsync(new { contact_id = $"hook-{i}", fid_vid = visitor });
            else await tracked.IdentifyAsync(visitor, "identified");
        }
        await tracked.CrmWebhookAsync(new { contact_id = "never-tracked", email = "offline@example.com" });

        var stats = await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/linking/stats", Cancel);

        Assert.Equal(4, stats.GetProperty("contacts").GetInt64());
        Assert.Equal(3, stats.GetProperty("contacts_with_sessions").GetInt64());
        Assert.Equal(0.75m, stats.GetProperty("link_rate").GetDecimal());
        var methods = stats.GetProperty("by_method").EnumerateArray().ToDictionary(m => m.GetProperty("method").GetString()!);
        Assert.Equal(2, methods["webhook"].GetProperty("links").GetInt64());
        Assert.Equal(1, methods["identify"].GetProperty("links").GetInt64());
        Assert.InRange(methods["webhook"].GetProperty("p95_seconds").GetDouble(), 0, 60);
        Assert.InRange(methods["identify"].GetProperty("median_seconds").GetDouble(), 0, 60);
    }
}
