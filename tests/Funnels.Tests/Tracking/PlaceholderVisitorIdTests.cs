using System.Net;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// Placeholders are absent ids: "null", "undefined", "NaN", "[object Object]", blanks and anything
/// not in t.js's format link nothing, wherever they arrive (CRM webhooks, leads, collect, identify).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class PlaceholderVisitorIdTests(Hosts hosts)
{
    private static readonly string[] Placeholders = ["null", "undefined", "NaN", "[object Object]", "   ", "", "{{contact.fid_vid}}", "v-not-from-tjs"];

    [Fact]
    public async Task A_CRM_webhook_with_visitor_null_links_nothing_and_a_lead_posted_with_null_by_another_person_joins_no_contact()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(tracked.Workspace);
        for (var i = 0; i < Placeholders.Length; i++)
        {
            var response = await tracked.CrmWebhookAsync(new { contact_id = $"crm-p{i}", email = $"p{i}@example.com", customData = new { fid_vid = Placeholders[i] } });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var outcome = await TrackedWorkspace.BodyAsync(response);
            Assert.Equal("no_visitor_id", outcome.GetProperty("link").GetString());
            Assert.Contains(outcome.GetProperty("visitor_id_ignored").GetString(), new[] { "placeholder", "malformed" });
        }
        // The contacts are kept (valid input is never lost); no visitor was linked to any of them.
        Assert.Equal(Placeholders.Length, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @Id", new { tracked.Id }));

        // Another person's lead carrying visitor_id "null", and a real visitor's lead linked by the CRM after it.
        var stranger = (await TrackedWorkspace.BodyAsync(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("stranger@example.com", visitorId: "null"))))
            .GetProperty("lead_id").GetGuid();
        var visitor = TrackedWorkspace.NewVisitorId();
        var real = (await TrackedWorkspace.BodyAsync(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("real@example.com", visitorId: visitor))))
            .GetProperty("lead_id").GetGuid();
        await tracked.CrmWebhookAsync(new { contact_id = "crm-real", fid_vid = visitor });
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @real", new { real }),
            TimeSpan.FromSeconds(60), "the real visitor's lead to be joined to its contact");

        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM runtime.leads WHERE id = @stranger AND (visitor_id IS NOT NULL OR contact_id IS NOT NULL)", new { stranger }));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM runtime.visitor_contacts WHERE workspace_id = @Id AND visitor_id <> @visitor", new { tracked.Id, visitor }));
    }

    [Fact]
    public async Task Collect_and_identify_refuse_a_placeholder_visitor_id_by_name_and_write_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        foreach (var placeholder in Placeholders)
        {
            var collect = await tracked.PageViewAsync(placeholder, TrackedWorkspace.NewId("s"));
            var identify = await tracked.IdentifyAsync(placeholder, "crm-1");
            Assert.Equal(HttpStatusCode.BadRequest, collect.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, identify.StatusCode);
            Assert.Contains("UUIDv7", (await TrackedWorkspace.BodyAsync(collect)).GetProperty("errors").GetProperty("visitor_id")[0].GetString());
            Assert.True((await TrackedWorkspace.BodyAsync(identify)).GetProperty("errors").TryGetProperty("visitor_id", out _));
        }
        var nullContact = await tracked.IdentifyAsync(TrackedWorkspace.NewVisitorId(), "undefined");
        Assert.True((await TrackedWorkspace.BodyAsync(nullContact)).GetProperty("errors").TryGetProperty("contact_id", out _));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }));
    }
}
