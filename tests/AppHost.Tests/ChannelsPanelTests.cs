using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>WhatsApp channels and a flow's test-send in the admin panel; and what a viewer may not do, even posting past the hidden forms.</summary>
[Collection(TopologyCollection.Name)]
public sealed class ChannelsPanelTests(TopologyFixture topology) : IAsyncLifetime
{
    private Panel _panel = null!;

    public async ValueTask InitializeAsync() => _panel = await Panel.StartAsync(topology);

    public ValueTask DisposeAsync() => _panel.DisposeAsync();

    private static string NewPhoneNumberId() => ChannelClaims.NewPhoneNumberId();

    [Fact]
    public Task An_owner_adds_a_channel_and_a_test_send_from_it_reaches_the_graph_api() => _panel.Explained(async page =>
    {
        var channel = NewPhoneNumberId();
        var token = "panel-token-" + channel;
        topology.Graph.Grant(token, channel);
        await _panel.SignInAsFirstAdminAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Channels" }).ClickAsync();
        await page.GetByLabel("Phone-number id").FillAsync(channel);
        await page.GetByLabel("Display number (optional)").FillAsync("+1 555 0199");
        // A token Meta does not know is refused at its field, and nothing is added.
        await page.GetByLabel("Access token").FillAsync("not-a-token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add channel" }).ClickAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("190");
        await Assertions.Expect(page.Locator($"tr[data-channel='{channel}']")).ToHaveCountAsync(0);
        // The number's own token is the proof; the number's Meta app brings its own secret and verify token.
        await page.GetByLabel("Access token").FillAsync(token);
        await page.GetByLabel("App secret (optional)").FillAsync("panel-app-secret-" + channel);
        await page.GetByLabel("Verify token (optional)").FillAsync("panel-verify-token-" + channel);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add channel" }).ClickAsync();
        var row = page.Locator($"tr[data-channel='{channel}']");
        await Assertions.Expect(row).ToContainTextAsync("its own token");
        await Assertions.Expect(row).ToContainTextAsync("its own app secret, own verify token");
        await Assertions.Expect(page.Locator("main")).Not.ToContainTextAsync("panel-app-secret-");
        // Messaging.Worker learns the claim from Runtime.Api a moment later (WhatsAppChannelClaimed).
        await ChannelClaims.KnownToWorkerAsync(topology, channel);
        await Assertions.Expect(row).ToContainTextAsync("+1 555 0199");
        await row.GetByLabel($"Display number of {channel}").FillAsync("+1 555 0100");
        await row.GetByRole(AriaRole.Button, new() { Name = "Rename" }).ClickAsync();
        await Assertions.Expect(page.Locator($"#display-{channel}")).ToHaveValueAsync("+1 555 0100");
        await Browser.ScreenshotAsync(page, "channels");

        // A draft flow without a channel of its own, test-sent from the new channel.
        var flow = await DraftFlowAsync("Test-send " + channel);
        await page.GotoAsync($"/Flows/Details/{flow}");
        await page.GetByLabel("Phone to message").FillAsync("+57 300 123 4567");
        await page.GetByLabel("Send from").SelectOptionAsync(channel);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send test" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("Test run started for +573001234567");
        await Browser.ScreenshotAsync(page, "flow-test-send");
        await page.Locator("#test-run a").ClickAsync();
        // The run starts when the worker handles the test-send's trigger: until then its page is "not found" (reloaded).
        await Panel.Eventually(page, async () => await page.Locator("#run-status").CountAsync() == 1 && await page.Locator("#run-status").TextContentAsync() == "completed");
        // Completed means Meta accepted its message: the send's latest status says so.
        await Assertions.Expect(page.Locator("[data-latest-status]")).ToHaveTextAsync("sent");
        await Browser.ScreenshotAsync(page, "test-run");

        // A completed run's send goes out on its own queue: wait until the run records it sent (a sent
        // message is never sent again), then there is exactly one request at the Graph API.
        var run = page.Url.TrimEnd('/').Split('/')[^1];
        var (worker, _) = await _panel.ApiAsync("messaging-worker");
        using (worker)
        {
            await Panel.Until(async () => (await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs/{run}")).GetProperty("outbound_messages")
                .EnumerateArray().Any(o => o.GetProperty("status").GetString() == "sent"), "the test run's message recorded as sent");
        }
        var sent = Assert.Single(topology.Graph.SentFrom(channel));
        Assert.Equal(("573001234567", "text", "Hello from the panel (test_send)"), (sent.To, sent.Type, sent.Text));
        Assert.Equal("Bearer " + token, sent.Authorization);

        await page.GotoAsync("/Channels");
        await Assertions.Expect(page.Locator("#sending-ok")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Remove {channel}" }).ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-channel='{channel}']")).ToHaveCountAsync(0);
    });

    [Fact]
    public Task A_viewer_gets_no_edit_controls_on_the_new_pages_and_is_refused_when_posting_anyway() => _panel.Explained(async page =>
    {
        var flow = await DraftFlowAsync("Viewer " + Guid.NewGuid().ToString("N")[..8]);
        await Panel.SignInAsync(page, await _panel.MemberAsync("viewer"), Panel.MemberPassword);

        foreach (var (path, button) in new[]
                 {
                     ("/Campaigns", "Create campaign"), ("/Campaigns/Influencers", "Add influencer"), ("/Channels", "Add channel"),
                     ("/Visitors/Settings", "Save settings"), ($"/Flows/Details/{flow}", "Send test"),
                 })
        {
            await page.GotoAsync(path);
            await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = button })).ToHaveCountAsync(0);
        }
        await page.GotoAsync("/Campaigns");
        await Browser.ScreenshotAsync(page, "viewer-campaigns");

        var name = "Sneaky " + Guid.NewGuid().ToString("N")[..8];
        var channel = NewPhoneNumberId();
        foreach (var (url, fields) in new (string, Dictionary<string, string>)[]
                 {
                     ("/Campaigns?handler=Create", new() { ["Form.Name"] = name, ["Form.BudgetAmount"] = "100.00", ["Form.Currency"] = "USD" }),
                     ("/Campaigns/Influencers?handler=Create", new() { ["Name"] = name }),
                     ("/Channels?handler=Save", new() { ["PhoneNumberId"] = channel }),
                     ("/Visitors/Settings?handler=Save", new() { ["VisitorField"] = "sneaky", ["StorageKey"] = "_ud" }),
                     ($"/Flows/Details/{flow}?handler=TestSend", new() { ["TestTo"] = "+573001234567", ["TestPhoneNumberId"] = channel }),
                 })
        {
            var answer = await Panel.PostAnywayAsync(page, url, fields);
            Assert.Equal(403, answer.Status);
            Assert.Contains("Not allowed", await answer.TextAsync());
        }

        var (tracking, _) = await _panel.ApiAsync("tracking-api");
        using (tracking)
        {
            Assert.DoesNotContain(name, await tracking.GetStringAsync("/api/tracking/campaigns?page_size=200"));
            Assert.DoesNotContain(name, await tracking.GetStringAsync("/api/tracking/influencers?page_size=200"));
            Assert.Equal("fid_vid", (await tracking.GetFromJsonAsync<JsonElement>("/api/tracking/settings")).GetProperty("visitor_field").GetString());
        }
        var (runtime, _) = await _panel.ApiAsync("runtime-api");
        using (runtime)
        {
            Assert.DoesNotContain(channel, await runtime.GetStringAsync("/api/runtime/whatsapp/channels?page_size=200"));
        }
        var (worker, _) = await _panel.ApiAsync("messaging-worker");
        using (worker)
        {
            Assert.Equal(0, (await worker.GetFromJsonAsync<JsonElement>($"/api/messaging/runs?flow_id={flow}")).GetProperty("total").GetInt64());
        }
    });

    private async Task<Guid> DraftFlowAsync(string name)
    {
        var (worker, _) = await _panel.ApiAsync("messaging-worker");
        using var _ = worker;
        var body = JsonSerializer.Serialize(new
        {
            name, status = "draft", triggers = Array.Empty<object>(),
            definition = JsonDocument.Parse("""
                { "start": "hello", "nodes": {
                    "hello": { "type": "send_text", "text": "Hello from the panel ({{trigger.source}})", "next": "bye" },
                    "bye": { "type": "end" } } }
                """).RootElement,
        });
        var created = await worker.PostAsync("/api/messaging/flows", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}
