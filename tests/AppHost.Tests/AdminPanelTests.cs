using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>The admin panel in a real browser, against the whole topology as AppHost runs it.</summary>
[Collection(TopologyCollection.Name)]
public sealed class AdminPanelTests(TopologyFixture topology) : IAsyncLifetime
{
    private Panel _panel = null!;

    public async ValueTask InitializeAsync() => _panel = await Panel.StartAsync(topology);

    public ValueTask DisposeAsync() => _panel.DisposeAsync();

    [Fact]
    public Task An_admin_publishes_a_funnel_a_visitor_submits_it_and_the_lead_and_its_timeline_show_in_the_panel() => _panel.Explained(async page =>
    {
        await _panel.SignInAsFirstAdminAsync(page);
        await Browser.ScreenshotAsync(page, "overview");

        var slug = "browser-" + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/Funnels/Create");
        await page.GetByLabel("Name").FillAsync("Browser funnel");
        await page.GetByLabel("Slug").FillAsync(slug);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        await Assertions.Expect(page.GetByText("published, version 1")).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "funnel-details");

        // A visitor fills the funnel's form on a page of its own site, which posts to Runtime.Api.
        await using var site = await FormSite.StartAsync(topology.Endpoint("runtime-api"), slug);
        var visitor = await _panel.Browser.NewPageAsync(site.Url);
        await visitor.GotoAsync("/");
        await visitor.GetByLabel("Email").FillAsync("browser.visitor@example.com");
        await visitor.GetByRole(AriaRole.Button, new() { Name = "Join" }).ClickAsync();
        await Assertions.Expect(visitor.Locator("#result")).ToContainTextAsync("created");

        await page.GotoAsync("/Leads");
        await page.GetByRole(AriaRole.Link, new() { Name = "browser.visitor@example.com" }).ClickAsync();
        await Assertions.Expect(page.Locator(".timeline")).ToContainTextAsync("FORM_SUBMIT");
        await Assertions.Expect(page.Locator(".timeline")).ToContainTextAsync("start → thanks");
        await Browser.ScreenshotAsync(page, "lead-details");

        await page.GotoAsync("/");
        await Assertions.Expect(page.GetByRole(AriaRole.Region, new() { Name = "Totals" })).ToContainTextAsync("leads");
        await Assertions.Expect(page.GetByRole(AriaRole.Region, new() { Name = "Totals" })).ToContainTextAsync("active runs");
        await Assertions.Expect(page.Locator("#link-rate")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d)? %$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Region, new() { Name = "Failing" })).ToContainTextAsync("failed runs");
        await Assertions.Expect(page.Locator("figure.chart svg").First).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "overview-with-leads");

        // Admin.Web reaches every service through service discovery.
        await page.GotoAsync("/System");
        foreach (var service in new[] { "runtime-api", "tracking-api", "messaging-worker" })
        {
            await Assertions.Expect(page.Locator($"tr[data-service='{service}'] .status")).ToHaveTextAsync("Healthy");
        }
        await Browser.ScreenshotAsync(page, "system");
    });

    [Fact]
    public Task Schema_errors_are_shown_next_to_the_schema_and_nothing_is_saved() => _panel.Explained(async page =>
    {
        await _panel.SignInAsFirstAdminAsync(page);

        await page.GotoAsync("/Funnels/Create");
        await page.GetByLabel("Name").FillAsync("Broken");
        await page.GetByLabel("Slug").FillAsync("broken-" + Guid.NewGuid().ToString("N")[..8]);
        await page.Locator("#schema").FillAsync("""{ "pages": [ { "id": "a", "kind": "form" }, { "id": "a", "kind": "offer" } ], "transitions": [] }""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();

        await Assertions.Expect(page.Locator("#schema-errors")).ToContainTextAsync("schema.pages[1].id");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Funnels/Create$"));
        await Browser.ScreenshotAsync(page, "funnel-schema-errors");
    });

    [Fact]
    public async Task A_viewer_can_look_but_cannot_edit()
    {
        var email = await _panel.MemberAsync("viewer");

        var page = await _panel.NewPageAsync();
        await Panel.SignInAsync(page, email, Panel.MemberPassword);
        await page.GotoAsync("/Funnels");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "New funnel" })).ToHaveCountAsync(0);

        await page.GotoAsync("/Funnels/Create");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "viewer-not-allowed");
    }

    [Fact]
    public async Task A_wrong_password_is_refused_on_the_sign_in_page()
    {
        var page = await _panel.NewPageAsync();

        await Panel.SignInAsync(page, TopologyFixture.AdminEmail, "not-the-password");

        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("email or password is wrong");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Account/SignIn"));
    }

    [Fact]
    public Task A_form_posted_without_its_anti_forgery_token_is_refused_400_and_writes_nothing() => _panel.Explained(async page =>
    {
        await _panel.SignInAsFirstAdminAsync(page);
        await page.GotoAsync("/Funnels/Create");
        var slug = "forged-" + Guid.NewGuid().ToString("N")[..8];
        var fields = new Dictionary<string, string> { ["Form.Name"] = "Forged", ["Form.Slug"] = slug, ["Form.Schema"] = """
            { "pages": [ { "id": "signup", "kind": "form", "fields": [ { "name": "email", "type": "email", "required": true } ] },
                         { "id": "thanks", "kind": "thank-you" } ],
              "transitions": [ { "from": "signup", "on": "FORM_SUBMIT", "to": "thanks" } ] }
            """ };

        // The signed-in editor's own cookies (the anti-forgery cookie among them), but no token in the form:
        // what a page on another site posting into the panel would send.
        var form = page.APIRequest.CreateFormData();
        foreach (var (name, value) in fields) form.Set(name, value);
        var forged = await page.APIRequest.PostAsync("/Funnels/Create", new() { Form = form, MaxRedirects = 0 });
        Assert.Equal(400, forged.Status);
        // The sign-in form is checked the same way.
        var signIn = page.APIRequest.CreateFormData();
        signIn.Set("Email", TopologyFixture.AdminEmail);
        signIn.Set("Password", topology.AdminPassword);
        Assert.Equal(400, (await page.APIRequest.PostAsync("/Account/SignIn", new() { Form = signIn, MaxRedirects = 0 })).Status);

        var (runtime, _) = await _panel.ApiAsync("runtime-api");
        using (runtime)
        {
            Assert.DoesNotContain(slug, await runtime.GetStringAsync("/api/runtime/funnels?page_size=200"));
            // The same form with the page's token is taken: the refusal was the missing token's.
            var posted = await Panel.PostAnywayAsync(page, "/Funnels/Create", fields);
            Assert.Equal(200, posted.Status);
            Assert.Contains(slug, await runtime.GetStringAsync("/api/runtime/funnels?page_size=200"));
        }
    });

    /// <summary>A customer's landing page on its own origin, posting the funnel's form to Runtime.Api from the browser.</summary>
    private sealed class FormSite : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FormSite(WebApplication app) => _app = app;

        public Uri Url => new(_app.Urls.First());

        public static async Task<FormSite> StartAsync(Uri runtimeApi, string slug)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var html = $$"""
                <!DOCTYPE html><html lang="en"><body>
                <form id="signup"><label for="email">Email</label><input id="email" name="email" type="email" required><button type="submit">Join</button></form>
                <p id="result"></p>
                <script>
                document.getElementById('signup').addEventListener('submit', async e => {
                  e.preventDefault();
                  const r = await fetch('{{runtimeApi.ToString().TrimEnd('/')}}/api/runtime/events/', {
                    method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
                    body: JSON.stringify({ publication_slug: '{{slug}}', event_type: 'FORM_SUBMIT',
                      payload: { page_id: 'signup', form_data: Object.fromEntries(new FormData(e.target)) } }) });
                  const body = await r.json();
                  document.getElementById('result').textContent = r.status + ' ' + body.status + ' ' + body.lead_id;
                });
                </script></body></html>
                """;
            app.MapGet("/", () => Results.Content(html, "text/html"));
            await app.StartAsync();
            return new FormSite(app);
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
