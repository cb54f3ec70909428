extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Funnels.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Funnels.Tests.Tracking;

/// <summary>t.js in headless Chromium, on a page served locally, against Tracking.Api on a real socket.</summary>
[Collection(ServicesCollection.Name)]
public sealed class ScriptInBrowserTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_page_gets_a_visitor_id_its_forms_gain_the_hidden_field_and_a_page_view_arrives()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // The shared in-process host has no socket; the browser needs one.
        var port = FreePort();
        await using var tracking = new ServiceHost<tracking::Program>(hosts.Servers);
        tracking.UseKestrel(port);
        tracking.StartServer();
        await using var site = await StartPageAsync($"http://127.0.0.1:{port}", tracked.Id);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Urls.First() + "/landing?utm_source=instagram&ref=ana");

        await page.WaitForFunctionAsync("() => window.funnels && document.querySelectorAll('form input[name=fid_vid]').length === 2");
        var visitorId = await page.EvaluateAsync<string>("() => localStorage.getItem('fid_vid')");
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", visitorId);
        Assert.Equal(visitorId, await page.EvaluateAsync<string>("() => window.funnels.visitorId"));
        var hidden = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('form input[name=fid_vid]')].map(i => i.type + ':' + i.value)");
        Assert.Equal([$"hidden:{visitorId}", $"hidden:{visitorId}"], hidden);

        var session = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>("""
            SELECT s.utm_source || '/' || s.ref FROM tracking.events e JOIN tracking.sessions s ON s.workspace_id = e.workspace_id AND s.id = e.session_id
            WHERE e.workspace_id = @Id AND e.visitor_id = @visitorId AND e.type = 'page_view' AND e.url LIKE '%/landing%'
            """, new { tracked.Id, visitorId }), TimeSpan.FromSeconds(20), "the page view");
        Assert.Equal("instagram/ana", session);

        // The CRM leaves the submitted contact in storage (GoHighLevel's _ud): the script reports it.
        await page.EvaluateAsync("() => localStorage.setItem('_ud', JSON.stringify({ contact_id: 'ghl-from-storage', email: 'a@example.com' }))");
        var linked = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT contact_id || '/' || method FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitorId", new { tracked.Id, visitorId }),
            TimeSpan.FromSeconds(20), "the link from storage");
        Assert.Equal("ghl-from-storage/identify", linked);

        // A reload keeps the visitor id.
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => !!window.funnels");
        Assert.Equal(visitorId, await page.EvaluateAsync<string>("() => window.funnels.visitorId"));

        // A page script left a placeholder where the visitor id is kept: t.js replaces it and never sends it.
        await page.EvaluateAsync("() => localStorage.setItem('fid_vid', 'null')");
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => !!window.funnels");
        var replaced = await page.EvaluateAsync<string>("() => window.funnels.visitorId");
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", replaced);
        Assert.NotEqual(visitorId, replaced);
        Assert.Equal(replaced, await page.EvaluateAsync<string>("() => localStorage.getItem('fid_vid')"));
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT visitor_id FROM tracking.events WHERE workspace_id = @Id AND visitor_id = @replaced LIMIT 1", new { tracked.Id, replaced }),
            TimeSpan.FromSeconds(20), "the replaced visitor's page view");
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.events WHERE workspace_id = @Id AND visitor_id = 'null'", new { tracked.Id }));

        // An influencer's link naming the campaign by its external key: the session gets the campaign;
        // a value that is neither a UUID nor a key is left out rather than costing the page view.
        var created = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns",
            new { name = "Lanzamiento", budget = new { amount = 1000m, currency = "COP" }, status = "active", external_key = "cmp-123" }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var campaign = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Cancel)).GetProperty("id").GetGuid();
        await page.GotoAsync(site.Urls.First() + "/landing?campaign_id=cmp-123&influencer_id=not%20a%20key");
        var linkSession = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>("""
            SELECT s.campaign_id::text || '/' || coalesce(s.influencer_id::text, '-') FROM tracking.sessions s
            WHERE s.workspace_id = @Id AND s.visitor_id = @replaced AND s.campaign_id IS NOT NULL
            """, new { tracked.Id, replaced }), TimeSpan.FromSeconds(20), "the session of the campaign link");
        Assert.Equal($"{campaign}/-", linkSession);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<WebApplication> StartPageAsync(string trackingOrigin, Guid workspaceId)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/landing", () => Results.Content($$"""
            <!doctype html>
            <html><head><title>Landing</title>
            <script async src="{{trackingOrigin}}/t.js" data-workspace="{{workspaceId}}" data-storage-key="_ud"></script>
            </head><body>
            <form id="signup" action="/submit" method="post"><input name="email"></form>
            <script>setTimeout(function () { var f = document.createElement('form'); f.id = 'later'; document.body.appendChild(f); }, 300);</script>
            </body></html>
            """, "text/html"));
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }
}
