using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>Visitors, contacts and campaigns in the admin panel, fed through Tracking.Api's public endpoints as real clients feed it.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TrackingPanelTests(TopologyFixture topology) : IAsyncLifetime
{
    private Panel _panel = null!;

    public async ValueTask InitializeAsync() => _panel = await Panel.StartAsync(topology);

    public ValueTask DisposeAsync() => _panel.DisposeAsync();

    [Fact]
    public Task A_linked_visitors_sessions_and_a_conflict_show_on_the_visitors_pages() => _panel.Explained(async page =>
    {
        var (tracking, workspace) = await _panel.ApiAsync("tracking-api");
        using var _ = tracking;
        var secret = (await (await tracking.PostAsync("/api/tracking/settings/crm-secret", null)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        var tag = Guid.NewGuid().ToString("N")[..10];
        var visitor = Guid.CreateVersion7().ToString();
        using var anonymous = topology.Client("tracking-api");

        // A page view from t.js, the CRM's contact webhook carrying the visitor id, then the script reporting another contact.
        var collect = await anonymous.PostAsync("/api/tracking/collect", new StringContent(JsonSerializer.Serialize(new
        {
            workspace_id = workspace, visitor_id = visitor, session_id = "s-" + tag, session = new { utm_source = "instagram", @ref = "ana" },
            events = new[] { new { id = "e-" + tag, type = "page_view", url = "https://shop.example/landing", occurred_at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } },
        }), Encoding.UTF8, "text/plain"));
        Assert.True(collect.IsSuccessStatusCode, await collect.Content.ReadAsStringAsync());
        using var webhook = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{workspace}")
        {
            Content = JsonContent.Create(new { contact_id = "contact-a-" + tag, email = $"{tag}@example.com", customData = new { fid_vid = visitor } }),
        };
        webhook.Headers.Add("X-Funnels-Token", secret);
        var linked = await anonymous.SendAsync(webhook);
        Assert.True(linked.IsSuccessStatusCode, await linked.Content.ReadAsStringAsync());
        var identify = await anonymous.PostAsJsonAsync("/api/tracking/identify", new { workspace_id = workspace, visitor_id = visitor, contact_id = "contact-b-" + tag });
        Assert.Equal("conflict", (await identify.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetString());

        await _panel.SignInAsFirstAdminAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Visitors", Exact = true }).ClickAsync();
        var conflict = page.Locator("#conflicts tr").Filter(new() { HasText = visitor });
        await Assertions.Expect(conflict).ToContainTextAsync("contact-b-" + tag);
        await Assertions.Expect(conflict).ToContainTextAsync("contact-a-" + tag);
        await Assertions.Expect(page.Locator("tr[data-method='webhook']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("figure.chart svg")).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "visitors");

        await page.GetByLabel("Visitor id").FillAsync(visitor);
        await page.GetByRole(AriaRole.Button, new() { Name = "Show sessions" }).ClickAsync();
        var session = page.Locator($"#sessions tr[data-session='s-{tag}']");
        await Assertions.Expect(session).ToContainTextAsync("contact-a-" + tag);
        await Assertions.Expect(session).ToContainTextAsync("webhook at");
        await Assertions.Expect(session).ToContainTextAsync("instagram");
        await Assertions.Expect(page.Locator("#visitor-link")).ToContainTextAsync("Linked to contact contact-a-" + tag);
        await Browser.ScreenshotAsync(page, "visitor-sessions");

        await page.GotoAsync("/Visitors/Sessions?VisitorId=nobody-" + tag);
        await Assertions.Expect(page.Locator("p.empty")).ToContainTextAsync("No sessions");

        // Settings: a bad storage key is refused at its field, by the API's rule (a visitor field may be any CRM label).
        await page.GotoAsync("/Visitors/Settings");
        await Assertions.Expect(page.Locator("pre.code")).ToContainTextAsync("/t.js");
        await page.GetByLabel("Visitor field name").FillAsync("Funnels Visitor ID");
        await page.GetByLabel("Storage key").FillAsync("not valid!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.Locator(".field-errors")).ToContainTextAsync("letters, digits");
        await Browser.ScreenshotAsync(page, "tracking-settings");

        // The owner configures Pipedrive's adapter with basic auth: its address and generated password are shown once,
        // and a webhooks v2 delivery with them links a visitor.
        await page.GetByLabel("CRM", new() { Exact = true }).SelectOptionAsync("pipedrive");
        await page.GetByLabel("Authentication").SelectOptionAsync("basic");
        await page.GetByLabel("User name (basic auth)").FillAsync("pipedrive");
        await page.GetByLabel("Visitor field (label, property name, field key or custom field id)").FillAsync("fid_vid");
        await page.GetByRole(AriaRole.Button, new() { Name = "Configure adapter" }).ClickAsync();
        var configured = await page.Locator("#crm-configured").TextContentAsync();
        var password = System.Text.RegularExpressions.Regex.Match(configured!, "secret (crm_[0-9a-f]+)").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(password), configured);
        await Assertions.Expect(page.Locator("#crm-adapters")).ToContainTextAsync("basic");
        var pipedriveVisitor = Guid.CreateVersion7().ToString();
        using var delivery = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/crm/pipedrive/{workspace}")
        {
            Content = new StringContent($$$$"""
                {"data":{"id":77,"name":"Ana","emails":[{"label":"work","value":"{{{{tag}}}}@example.com","primary":true}],"phones":[],
                  "custom_fields":{"fid_vid":{"type":"varchar","value":"{{{{pipedriveVisitor}}}}"}}},
                 "previous":null,"meta":{"action":"create","entity":"person","entity_id":"77","version":"2.0","company_id":"1","type":"general"}}
                """, Encoding.UTF8, "application/json"),
        };
        delivery.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("pipedrive:" + password)));
        var piped = await anonymous.SendAsync(delivery);
        Assert.True(piped.IsSuccessStatusCode, await piped.Content.ReadAsStringAsync());
        Assert.Equal("linked", (await piped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("link").GetString());
    });

    [Fact]
    public Task An_editor_gives_a_campaign_and_an_influencer_the_external_keys_attribution_clients_use() => _panel.Explained(async page =>
    {
        await Panel.SignInAsync(page, await _panel.MemberAsync("editor"), Panel.MemberPassword);
        var tag = Guid.NewGuid().ToString("N")[..8];

        await page.GotoAsync("/Campaigns/Influencers");
        await page.GetByLabel("Name").FillAsync("Inés " + tag);
        await page.GetByLabel("External key (optional)").FillAsync("inf-" + tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add influencer" }).ClickAsync();
        var influencerRow = page.Locator("tr[data-influencer]").Filter(new() { HasText = "Inés " + tag });
        await Assertions.Expect(influencerRow).ToContainTextAsync("inf-" + tag);
        var influencer = await influencerRow.GetAttributeAsync("data-influencer");

        await page.GotoAsync("/Campaigns");
        await page.GetByLabel("Name").FillAsync("Lanzamiento " + tag);
        await page.GetByLabel("Budget").FillAsync("1000000.00");
        await page.GetByLabel("Currency (ISO 4217)").FillAsync("COP");
        await page.GetByLabel("External key (optional)").FillAsync("cmp-" + tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create campaign" }).ClickAsync();
        await Assertions.Expect(page.Locator("#campaign-external-key")).ToHaveTextAsync("cmp-" + tag);
        var campaign = await page.Locator("#campaign-id").TextContentAsync();

        // A malformed key is refused at its field by the API's rule; a good one replaces the old.
        await page.Locator("#external-key-form").GetByLabel("External key").FillAsync("has space");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save external key" }).ClickAsync();
        await Assertions.Expect(page.Locator("#external-key-form .field-errors")).ToContainTextAsync("letters, digits");
        await page.Locator("#external-key-form").GetByLabel("External key").FillAsync("cmp2-" + tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save external key" }).ClickAsync();
        await Assertions.Expect(page.Locator("#campaign-external-key")).ToHaveTextAsync("cmp2-" + tag);
        await Browser.ScreenshotAsync(page, "campaign-external-key");

        // The API now finds both by those keys.
        var (tracking, _) = await _panel.ApiAsync("tracking-api");
        using var __ = tracking;
        Assert.Equal(campaign, (await tracking.GetFromJsonAsync<JsonElement>($"/api/tracking/campaigns/cmp2-{tag}")).GetProperty("id").GetString());
        Assert.Equal(influencer, (await tracking.GetFromJsonAsync<JsonElement>($"/api/tracking/influencers/inf-{tag}")).GetProperty("id").GetString());
    });

    [Fact]
    public Task An_editor_creates_a_campaign_influencer_and_rule_and_sees_stats_and_commissions_after_a_conversion() => _panel.Explained(async page =>
    {
        await Panel.SignInAsync(page, await _panel.MemberAsync("editor"), Panel.MemberPassword);
        var tag = Guid.NewGuid().ToString("N")[..8];
        // A long order id, as shops send them: the conversions table wraps it rather than widening the page.
        var orderId = $"order-{tag}-{Guid.NewGuid():N}{Guid.NewGuid():N}{Guid.NewGuid():N}";

        await page.GotoAsync("/Campaigns/Influencers");
        await page.GetByLabel("Name").FillAsync("Ana " + tag);
        await page.GetByLabel("Handle (optional)").FillAsync("@ana" + tag);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add influencer" }).ClickAsync();
        var influencerRow = page.Locator("tr[data-influencer]").Filter(new() { HasText = "Ana " + tag });
        var influencer = await influencerRow.GetAttributeAsync("data-influencer");
        await Browser.ScreenshotAsync(page, "influencers");

        await page.GotoAsync("/Campaigns");
        await page.GetByLabel("Name").FillAsync("Launch " + tag);
        await page.GetByLabel("Brand").FillAsync("Acme");
        await page.GetByLabel("Budget").FillAsync("1000000.00");
        await page.GetByLabel("Currency (ISO 4217)").FillAsync("COP");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create campaign" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Launch " + tag })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#budget")).ToHaveTextAsync("1,000,000.00 COP");
        var campaign = await page.Locator("#campaign-id").TextContentAsync();

        // A percent over 100 is refused by the API and shown at the field; a good rule is listed.
        await page.GetByLabel("Kind").SelectOptionAsync("per_conversion_percent");
        await page.GetByLabel("Percent, or amount in COP").FillAsync("150");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.Locator(".field-errors")).ToContainTextAsync("0 to 100");
        await page.GetByLabel("Percent, or amount in COP").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.Locator("#rules")).ToContainTextAsync("10 % of the conversion value");
        await page.GetByLabel("Kind").SelectOptionAsync("per_click");
        await page.GetByLabel("Percent, or amount in COP").FillAsync("100");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.Locator("#rules")).ToContainTextAsync("per_click");

        // An owner creates the workspace's attribution key in the panel (shown once).
        var owner = await _panel.NewPageAsync();
        await _panel.SignInAsFirstAdminAsync(owner);
        await owner.GotoAsync("/Visitors/Settings");
        await owner.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("(Create|Rotate) attribution key") }).ClickAsync();
        var key = await owner.Locator("#new-attribution-key").TextContentAsync();
        Assert.False(string.IsNullOrEmpty(key));

        // An attribution client posts a click and a conversion of 150000.0 COP through the public API, with that key.
        using var anonymous = topology.Client("tracking-api");
        anonymous.DefaultRequestHeaders.Add("X-Funnels-Attribution-Key", key);
        var click = await anonymous.PostAsJsonAsync("/api/tracking/impressions", new
        {
            id = "click-" + tag, campaign_id = campaign, influencer_id = influencer, user_id = "u-" + tag, event_type = "click",
            user_agent = "Mozilla/5.0", ip_address = "203.0.113.9", referrer = "https://instagram.com", timestamp = DateTimeOffset.UtcNow,
        });
        Assert.True(click.IsSuccessStatusCode, await click.Content.ReadAsStringAsync());
        var conversion = await anonymous.PostAsJsonAsync("/api/tracking/conversions", new
        {
            id = orderId, campaign_id = campaign, influencer_id = influencer, user_id = "u-" + tag, conversion_type = "purchase",
            value = 150000.0m, currency = "COP", timestamp = DateTimeOffset.UtcNow,
        });
        Assert.True(conversion.IsSuccessStatusCode, await conversion.Content.ReadAsStringAsync());

        // 10 % of the conversion plus 100 COP for the click.
        await Panel.Eventually(page, async () => await page.Locator("#commission-owed").TextContentAsync() == "15,100.00 COP");
        await Assertions.Expect(page.Locator("#conversions-total")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#revenue")).ToHaveTextAsync("150,000.00 COP");
        await Assertions.Expect(page.Locator("#influencer-stats")).ToContainTextAsync("Ana " + tag);
        await Assertions.Expect(page.Locator("#conversions")).ToContainTextAsync(orderId);
        await Panel.Eventually(page, async () => await page.Locator("#commissions").CountAsync() == 1);
        await Assertions.Expect(page.Locator("#commissions")).ToContainTextAsync("15,000.00 COP");
        await Assertions.Expect(page.Locator("#commissions")).ToContainTextAsync("clicks: 1 (period to");
        await Assertions.Expect(page.Locator("#commissions")).ToContainTextAsync("100.00 COP");
        // The conversion's commission and the click period's, both waiting for their payout.
        await Assertions.Expect(page.Locator("#commissions .status")).ToHaveTextAsync([new Regex("pending|scheduled"), new Regex("pending|scheduled")]);
        // The refund window for people, what is left of the budget, and a page that fits a 1400 px window.
        await Assertions.Expect(page.Locator("#refund-window")).ToHaveTextAsync("30 days");
        await Assertions.Expect(page.Locator("#conversions-per-click")).ToHaveTextAsync("1");
        await Panel.Eventually(page, async () => await page.Locator("#budget-committed").CountAsync() == 1
            && await page.Locator("#budget-committed").TextContentAsync() == "15,100.00 COP");
        await Assertions.Expect(page.Locator("#budget-remaining")).ToHaveTextAsync("984,900.00 COP");
        await page.SetViewportSizeAsync(1400, 900);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 1400"),
            $"the campaign page is {await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")} px wide in a 1400 px window");
        await Browser.ScreenshotAsync(page, "campaign-details");

        await page.Locator("#influencer-stats").GetByRole(AriaRole.Link, new() { Name = "Ana " + tag }).ClickAsync();
        await Assertions.Expect(page.Locator("#influencer-campaigns")).ToContainTextAsync("Launch " + tag);
        await Assertions.Expect(page.Locator("#conversions")).ToContainTextAsync("150,000.00 COP");
        await Browser.ScreenshotAsync(page, "influencer");

        await page.GotoAsync("/Campaigns");
        await Assertions.Expect(page.Locator("tr[data-campaign]").Filter(new() { HasText = "Launch " + tag })).ToContainTextAsync("1,000,000.00 COP");
        await Browser.ScreenshotAsync(page, "campaigns");
        await page.GetByRole(AriaRole.Link, new() { Name = "Payouts" }).ClickAsync();
        await Assertions.Expect(page.Locator("#payouts")).ToContainTextAsync("15,000.00 COP");
        // Each payout names its campaign and influencer.
        await Assertions.Expect(page.Locator("#payouts tr").Filter(new() { HasText = "Launch " + tag }).Filter(new() { HasText = "15,000.00 COP" }))
            .ToContainTextAsync("Ana " + tag);
        await Browser.ScreenshotAsync(page, "payouts");
    });
}
