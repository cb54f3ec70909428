using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>Flows, runs and dead letters in the admin panel, in a real browser against the whole topology.</summary>
[Collection(TopologyCollection.Name)]
public sealed class FlowsPanelTests(TopologyFixture topology) : IAsyncLifetime
{
    private Panel _panel = null!;

    public async ValueTask InitializeAsync() => _panel = await Panel.StartAsync(topology);

    public ValueTask DisposeAsync() => _panel.DisposeAsync();

    [Fact]
    public Task An_editor_creates_and_activates_a_flow_and_sees_a_bad_one_refused_at_its_json_path() => _panel.Explained(async page =>
    {
        var email = await _panel.MemberAsync("editor");
        await Panel.SignInAsync(page, email, Panel.MemberPassword);

        await page.GotoAsync("/Flows");
        await page.GetByRole(AriaRole.Link, new() { Name = "New flow" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("Broken flow");
        await page.Locator("#definition").FillAsync("""
            { "start": "hello", "nodes": {
                "hello": { "type": "send_text", "text": "Hi", "next": "ask" },
                "ask": { "type": "wait_for_reply", "pattern": "([a-z", "timeout_seconds": 60, "timeout_path": "nowhere" } } }
            """);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Assertions.Expect(page.Locator("#definition-errors")).ToContainTextAsync("definition.nodes.ask.pattern");
        await Assertions.Expect(page.Locator("#definition-errors")).ToContainTextAsync("definition.nodes.ask.timeout_path");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/Flows/Create$"));
        await Browser.ScreenshotAsync(page, "flow-errors");

        // The starter definition is a valid flow; the form keeps what was typed, so put it back.
        var name = "Welcome " + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/Flows/Create");
        await page.GetByLabel("Name").FillAsync(name);
        await page.Locator("#triggers").FillAsync($$"""[ { "type": "phrase", "phrase": "hello {{name}}" } ]""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = name })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#flow-status")).ToHaveTextAsync("draft");

        await page.GetByRole(AriaRole.Button, new() { Name = "Activate" }).ClickAsync();
        await Assertions.Expect(page.Locator("#flow-status")).ToHaveTextAsync("active");
        await Browser.ScreenshotAsync(page, "flow-details");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Assertions.Expect(page.Locator("#flow-status")).ToHaveTextAsync("paused");

        await page.GotoAsync("/Flows");
        await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = name })).ToContainTextAsync("paused");
        await Browser.ScreenshotAsync(page, "flows");

        // Dead letters are the installation's: an editor (not an owner of the operator workspace) neither sees nor opens them.
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" })).ToHaveCountAsync(0);
        await page.GotoAsync("/DeadLetters");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
    });

    [Fact]
    public Task An_editor_switches_trigger_interrupts_wait_with_the_checkbox_and_the_flow_page_says_which_way_it_is() => _panel.Explained(async page =>
    {
        var email = await _panel.MemberAsync("editor");
        await Panel.SignInAsync(page, email, Panel.MemberPassword);
        var name = "Checkout " + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/Flows/Create");
        await page.GetByLabel("Name").FillAsync(name);
        await page.Locator("#triggers").FillAsync($$"""[ { "type": "phrase", "phrase": "pay {{name}}" } ]""");
        var checkbox = page.Locator("input#trigger-interrupts-wait");
        await Assertions.Expect(checkbox).ToBeCheckedAsync();
        await checkbox.UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = name })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("p#trigger-interrupts-wait")).ToContainTextAsync("is taken as the run's reply");
        await Assertions.Expect(page.Locator("#definition")).ToContainTextAsync("\"trigger_interrupts_wait\": false");

        // The form shows the rule as the checkbox only, and turning it back on saves the default (the field left out).
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit", Exact = true }).ClickAsync();
        await Assertions.Expect(checkbox).Not.ToBeCheckedAsync();
        Assert.DoesNotContain("trigger_interrupts_wait", await page.Locator("textarea#definition").InputValueAsync());
        await checkbox.CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("p#trigger-interrupts-wait")).ToContainTextAsync("cancels the run and starts that flow");
        await Assertions.Expect(page.Locator("#definition")).Not.ToContainTextAsync("trigger_interrupts_wait");
    });

    [Fact]
    public async Task A_viewer_sees_flows_but_cannot_create_or_change_them()
    {
        using var api = await AdminApiAsync();
        var flow = await CreateFlowAsync(api, "Viewer-visible " + Guid.NewGuid().ToString("N")[..8], "draft", null, "[]");
        var email = await _panel.MemberAsync("viewer");

        var page = await _panel.NewPageAsync();
        await Panel.SignInAsync(page, email, Panel.MemberPassword);
        await page.GotoAsync($"/Flows/Details/{flow}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Definition" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Activate" })).ToHaveCountAsync(0);
        await page.GotoAsync("/Flows/Create");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        await page.GotoAsync($"/Flows/Edit/{flow}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
    }

    [Fact]
    public Task A_run_started_by_a_captured_lead_shows_its_steps_and_an_editor_cancels_it() => _panel.Explained(async page =>
    {
        using var api = await AdminApiAsync();
        var funnel = await PublishFunnelAsync(api);
        var name = "Lead welcome " + Guid.NewGuid().ToString("N")[..8];
        // A lead-captured flow writes from one of the workspace's own numbers.
        var channel = await ChannelClaims.ClaimAsync(topology, api.Runtime);
        await CreateFlowAsync(api, name, "active", channel, $$"""[ { "type": "lead_captured", "funnel_id": "{{funnel.Id}}" } ]""");
        await SubmitLeadAsync(funnel.Slug, "run.visitor@example.com", "+44 7700 900123");

        await _panel.SignInAsFirstAdminAsync(page);
        await page.GotoAsync("/Flows");
        await page.GetByRole(AriaRole.Link, new() { Name = name }).ClickAsync();
        var run = page.Locator("tr[data-run] a").First;
        await Panel.Eventually(page, async () => await run.CountAsync() > 0);
        await run.ClickAsync();

        // The run sent its greeting and now waits (durably) for the hour to pass.
        await Panel.Eventually(page, async () => await page.Locator("#run-status").CountAsync() == 1 && await page.Locator("#run-status").TextContentAsync() == "waiting");
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("pause");
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Steps in order" })).ToContainTextAsync("send_text");
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "WhatsApp sends of this run" })).ToContainTextAsync("text");
        await Assertions.Expect(page.Locator("pre.code")).ToContainTextAsync("run.visitor@example.com");
        await Browser.ScreenshotAsync(page, "run-details");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Assertions.Expect(page.Locator("#run-status")).ToHaveTextAsync("cancelled");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);

        await page.GotoAsync("/Runs?Status=cancelled");
        await Assertions.Expect(page.GetByRole(AriaRole.Table)).ToContainTextAsync(name);
        await Browser.ScreenshotAsync(page, "runs");
    });

    [Fact]
    public Task An_operator_replays_a_dead_lettered_webhook_delivery_from_the_panel() => _panel.Explained(async page =>
    {
        await using var receiver = await Receiver.StartAsync();
        using var api = await AdminApiAsync();
        var hook = await (await api.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = receiver.Url, events = new[] { "lead.captured" } }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var hookId = hook.GetProperty("id").GetGuid();
        try
        {
            // The endpoint answers 500 to the first try and both (200 ms) retries: the delivery is dead-lettered.
            var funnel = await PublishFunnelAsync(api);
            await SubmitLeadAsync(funnel.Slug, "dead.letter@example.com", null);

            await _panel.SignInAsFirstAdminAsync(page);
            await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
            await page.GetByLabel("Message type").FillAsync("DeliverWebhook");
            await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
            var row = page.Locator("tr[data-dead-letter]").Filter(new() { HasText = receiver.Url });
            await Panel.Eventually(page, async () => await row.CountAsync() == 1);
            await Assertions.Expect(row).ToContainTextAsync("WebhookDeliveryFailed");
            await Assertions.Expect(row).ToContainTextAsync("answered 500");
            Assert.Equal(3, receiver.Attempts);
            await Browser.ScreenshotAsync(page, "dead-letters");

            // The receiver is fixed; replaying delivers the event once and the dead letter leaves the list.
            receiver.Status = 200;
            await row.GetByRole(AriaRole.Button, new() { Name = "Replay" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Queued for replay");
            await Panel.Eventually(page, async () => await row.CountAsync() == 0, TimeSpan.FromSeconds(60));
            await Browser.ScreenshotAsync(page, "dead-letters-after-replay");

            // Back in the incoming queue, the handler runs again: delivered once, on the fourth attempt.
            await page.GotoAsync($"/Webhooks/Details/{hookId}");
            await Panel.Eventually(page, async () => await page.Locator(".status-delivered").CountAsync() == 1);
            Assert.Equal(4, receiver.Attempts);
            Assert.Equal(1, receiver.Delivered);
        }
        finally
        {
            await api.Worker.DeleteAsync($"/api/messaging/webhooks/{hookId}");
        }
    });

    private sealed record AdminClients(HttpClient Runtime, HttpClient Worker) : IDisposable
    {
        public void Dispose()
        {
            Runtime.Dispose();
            Worker.Dispose();
        }
    }

    private sealed record PublishedFunnel(Guid Id, string Slug);

    /// <summary>Runtime.Api and the worker with the first admin's token (an owner of the operator workspace).</summary>
    private async Task<AdminClients> AdminApiAsync()
    {
        var (runtime, _) = await _panel.ApiAsync("runtime-api");
        var (worker, _) = await _panel.ApiAsync("messaging-worker");
        return new AdminClients(runtime, worker);
    }

    private static async Task<Guid> CreateFlowAsync(AdminClients api, string name, string status, string? channel, string triggers)
    {
        var body = JsonSerializer.Serialize(new
        {
            name, status, channel_phone_number_id = channel, triggers = JsonDocument.Parse(triggers).RootElement,
            definition = JsonDocument.Parse("""
                { "start": "hello", "nodes": {
                    "hello": { "type": "send_text", "text": "Hi {{contact.name}}!", "next": "pause" },
                    "pause": { "type": "wait", "seconds": 3600, "next": "bye" },
                    "bye": { "type": "end" } } }
                """).RootElement,
        });
        var created = await api.Worker.PostAsync("/api/messaging/flows", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<PublishedFunnel> PublishFunnelAsync(AdminClients api)
    {
        var slug = "flows-" + Guid.NewGuid().ToString("N")[..8];
        var schema = JsonDocument.Parse("""
            { "pages": [ { "id": "signup", "kind": "form", "fields": [ { "name": "email", "type": "email", "required": true }, { "name": "phone", "type": "phone" } ] },
                         { "id": "thanks", "kind": "thank-you" } ],
              "transitions": [ { "from": "signup", "on": "FORM_SUBMIT", "to": "thanks" } ] }
            """).RootElement;
        var created = await api.Runtime.PostAsJsonAsync("/api/runtime/funnels", new { name = "Flows " + slug, slug, schema, allowed_origins = Array.Empty<string>() });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await api.Runtime.PostAsync($"/api/runtime/funnels/{id}/publish", null)).EnsureSuccessStatusCode();
        return new PublishedFunnel(id, slug);
    }

    private async Task SubmitLeadAsync(string slug, string email, string? phone)
    {
        using var runtime = topology.Client("runtime-api");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runtime/events/")
        {
            Content = JsonContent.Create(new
            {
                publication_slug = slug, event_type = "FORM_SUBMIT",
                payload = new { page_id = "signup", form_data = phone is null ? (object)new { email } : new { email, phone } },
            }),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        var response = await runtime.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A customer's webhook endpoint on its own port: answers what the test says, counts what it got.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _attempts;
        private int _delivered;

        private Receiver(WebApplication app) => _app = app;

        public string Url => _app.Urls.First() + "/hook";

        public volatile int Status = 500;

        public int Attempts => Volatile.Read(ref _attempts);

        public int Delivered => Volatile.Read(ref _delivered);

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/hook", () =>
            {
                Interlocked.Increment(ref receiver._attempts);
                var status = receiver.Status;
                if (status == 200) Interlocked.Increment(ref receiver._delivered);
                return Results.StatusCode(status);
            });
            await app.StartAsync();
            return receiver;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
