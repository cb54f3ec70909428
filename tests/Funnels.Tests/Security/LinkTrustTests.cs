using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Contracts;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Tracking;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Security;

/// <summary>
/// Anyone can post identify for any visitor id: such a claim is provisional. A CRM webhook signed
/// with the workspace's secret replaces it (and the visitor's leads follow the new contact); one
/// signed claim against another stays a conflict; a later identify never replaces a signed link.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class LinkTrustTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_signed_webhook_replaces_an_anonymous_identify_claim_and_the_leads_follow()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(tracked.Workspace);
        var visitor = TrackedWorkspace.NewVisitorId();
        var session = TrackedWorkspace.NewId("s");
        await tracked.PageViewAsync(visitor, session);
        var lead = (await TrackedWorkspace.BodyAsync(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("relink@example.com", visitorId: visitor))))
            .GetProperty("lead_id").GetGuid();

        // The attacker claims the victim's visitor for a contact of their choosing.
        var claim = await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(visitor, "attacker"));
        Assert.Equal("linked", claim.GetProperty("result").GetString());
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @lead", new { lead }),
            TimeSpan.FromSeconds(60), "the provisional link to reach the lead");

        // The CRM, signing with the workspace's secret, says who the visitor really is.
        var signed = await tracked.CrmWebhookAsync(new { contact_id = "crm-real", email = "relink@example.com", fid_vid = visitor });
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal("relinked", (await TrackedWorkspace.BodyAsync(signed)).GetProperty("link").GetString());

        Assert.Equal("crm-real/webhook", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id || '/' || method FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
        Assert.Equal("crm-real", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id FROM tracking.sessions WHERE workspace_id = @Id AND id = @session", new { tracked.Id, session }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id", new { tracked.Id }));

        // The history keeps what was replaced, how it had been linked, when, and why.
        var history = await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/visitors/{visitor}/link", Cancel);
        Assert.Equal("crm-real", history.GetProperty("contact_id").GetString());
        Assert.Equal("signed", history.GetProperty("trust").GetString());
        var replaced = Assert.Single(history.GetProperty("history").EnumerateArray());
        Assert.Equal("attacker", replaced.GetProperty("contact_id").GetString());
        Assert.Equal("identify", replaced.GetProperty("method").GetString());
        Assert.True(replaced.TryGetProperty("linked_at", out _));
        Assert.Equal("crm-real", replaced.GetProperty("replaced_by_contact_id").GetString());
        Assert.Contains("signed", replaced.GetProperty("reason").GetString());

        // VisitorLinkedToContact is published again, and Runtime.Api moves the lead to the new contact.
        await hosts.Servers.HandledAsync("runtime", "VisitorLinkedToContact", "crm-real");
        Assert.Equal("crm-real", await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @lead", new { lead }));
        Assert.Equal("crm-real", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id FROM runtime.visitor_contacts WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
        // A lead written later for the visitor is joined to the new contact on insert.
        var other = await TestFunnel.PublishAsync(tracked.Workspace);
        var later = (await TrackedWorkspace.BodyAsync(await other.PostAsync("FORM_SUBMIT", TestFunnel.Signup("later@example.com", visitorId: visitor))))
            .GetProperty("lead_id").GetGuid();
        Assert.Equal("crm-real", await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @later", new { later }));
    }

    [Fact]
    public async Task A_HubSpot_delivery_signed_with_v3_replaces_an_identify_claim_and_an_unsigned_one_changes_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        const string appSecret = "hubspot-client-secret-0123456789";
        var crm = await CrmKit.ConfigureAsync(tracked, "hubspot", new { auth = "hubspot_v3", secret = appSecret, visitor_field = "fid_vid" });
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
        Assert.Equal("linked", (await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(visitor, "attacker"))).GetProperty("result").GetString());

        var events = $$"""
            [{"eventId":1,"subscriptionId":2,"portalId":3,"appId":4,"occurredAt":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},
              "subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":5101,"propertyName":"fid_vid","propertyValue":"{{visitor}}",
              "changeSource":"FORM"}]
            """;
        var unsigned = await crm.PostAsync(events);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal("attacker/provisional", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id || '/' || trust FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));

        var signed = await crm.PostAsync(events, CrmKit.HubSpotV3(appSecret, events));
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal("relinked", (await TrackedWorkspace.BodyAsync(signed)).GetProperty("contacts")[0].GetProperty("link").GetString());
        Assert.Equal("5101/signed", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id || '/' || trust FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
        // An identify afterwards never takes the visitor back.
        Assert.Equal("conflict", (await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(visitor, "attacker"))).GetProperty("result").GetString());
    }

    [Fact]
    public async Task A_signed_claim_against_another_signed_claim_stays_a_conflict()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
        await tracked.CrmWebhookAsync(new { contact_id = "first", fid_vid = visitor });

        var second = await TrackedWorkspace.BodyAsync(await tracked.CrmWebhookAsync(new { contact_id = "second", fid_vid = visitor }));

        Assert.Equal("conflict", second.GetProperty("link").GetString());
        Assert.Equal("first", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
        Assert.Equal(1, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id AND attempted_contact_id = 'second' AND method = 'webhook'", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND contact_id IS DISTINCT FROM 'first'", new { tracked.Id }));
    }

    [Fact]
    public async Task An_identify_after_a_signed_link_never_relinks_even_after_a_provisional_link_was_confirmed_by_the_crm()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(tracked.Workspace);
        var signedFirst = TrackedWorkspace.NewVisitorId();
        var identifiedFirst = TrackedWorkspace.NewVisitorId();
        var leads = new List<Guid>();
        foreach (var visitor in new[] { signedFirst, identifiedFirst })
        {
            await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));
            leads.Add((await TrackedWorkspace.BodyAsync(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup($"{visitor}@example.com", visitorId: visitor))))
                .GetProperty("lead_id").GetGuid());
        }
        await tracked.CrmWebhookAsync(new { contact_id = "crm-a", fid_vid = signedFirst });
        // A provisional link the CRM then confirms (same contact) is as good as signed.
        await tracked.IdentifyAsync(identifiedFirst, "crm-b");
        var confirmed = await TrackedWorkspace.BodyAsync(await tracked.CrmWebhookAsync(new { contact_id = "crm-b", fid_vid = identifiedFirst }));
        Assert.Equal("confirmed", confirmed.GetProperty("link").GetString());

        await hosts.Servers.HandledAsync("runtime", "VisitorLinkedToContact", [signedFirst, identifiedFirst], handled: 2);

        // Whatever the late claims cause has been handled once the tracked session returns.
        var late = new List<JsonElement>();
        await hosts.TrackedAsync(async () =>
        {
            late.Add(await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(signedFirst, "attacker")));
            late.Add(await TrackedWorkspace.BodyAsync(await tracked.IdentifyAsync(identifiedFirst, "attacker")));
        });

        Assert.All(late, outcome => Assert.Equal("conflict", outcome.GetProperty("result").GetString()));
        Assert.Equal(2, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id AND attempted_contact_id = 'attacker' AND method = 'identify'", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id AND contact_id = 'attacker'", new { tracked.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @Id AND contact_id = 'attacker'", new { tracked.Id }));
        Assert.Equal(new[] { "crm-a", "crm-b" }, new[] {
            await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @id", new { id = leads[0] }),
            await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @id", new { id = leads[1] }),
        });
    }

    [Fact]
    public async Task In_the_runtime_a_late_older_link_does_not_undo_the_newer_one_and_a_repeat_changes_nothing()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var visitor = TrackedWorkspace.NewVisitorId();
        var lead = (await TrackedWorkspace.BodyAsync(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("order@example.com", visitorId: visitor))))
            .GetProperty("lead_id").GetGuid();
        using var scope = hosts.Runtime.Services.CreateScope();
        var bus = scope.ServiceProvider.GetRequiredService<Wolverine.IMessageBus>();
        var now = DateTimeOffset.UtcNow;

        // The relink arrives before the provisional link it replaced, then both again.
        await bus.InvokeAsync(new VisitorLinkedToContact(workspace.Id, visitor, "crm-real", "webhook", now, 2, "attacker"), Cancel);
        await bus.InvokeAsync(new VisitorLinkedToContact(workspace.Id, visitor, "attacker", "identify", now.AddSeconds(-5)), Cancel);
        await bus.InvokeAsync(new VisitorLinkedToContact(workspace.Id, visitor, "crm-real", "webhook", now, 2, "attacker"), Cancel);
        await bus.InvokeAsync(new VisitorLinkedToContact(workspace.Id, visitor, "attacker", "identify", now.AddSeconds(-5)), Cancel);

        Assert.Equal("crm-real", await hosts.Servers.ScalarAsync<string>("SELECT contact_id FROM runtime.leads WHERE id = @lead", new { lead }));
        Assert.Equal("crm-real/2", await hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id || '/' || generation FROM runtime.visitor_contacts WHERE workspace_id = @Id AND visitor_id = @visitor", new { workspace.Id, visitor }));
    }
}
