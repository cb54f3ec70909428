using Aspire.Hosting.Testing;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Funnels.AppHost.Tests;

/// <summary>Aspire's own dashboard for the topology, in a real browser: what a person sees after `dotnet run --project AppHost`.</summary>
[Collection(TopologyCollection.Name)]
public sealed class DashboardTests(TopologyFixture topology)
{
    [Fact]
    public async Task The_dashboard_shows_every_resource_running_and_healthy()
    {
        await using var browser = await Browser.LaunchAsync();
        var (page, _) = await SignedInDashboardAsync(browser);

        // Each resource is a row of the Resources table, its name cell "Type: name", its state cell
        // "Running" (not "Starting", "Waiting", or "Running (Unhealthy)" while a health check fails).
        var table = page.GetByRole(AriaRole.Region, new() { Name = "Resources" });
        foreach (var name in TestAppHost.Resources)
        {
            var row = table.GetByRole(AriaRole.Row).Filter(new()
            {
                Has = page.GetByRole(AriaRole.Gridcell, new() { NameRegex = new Regex($"^[A-Za-z]+: {Regex.Escape(name)}$") }),
            });
            await Assertions.Expect(row).ToHaveCountAsync(1);
            await Assertions.Expect(row.GetByRole(AriaRole.Gridcell, new() { Name = "Running", Exact = true })).ToBeVisibleAsync();
        }
        await Assertions.Expect(table.GetByRole(AriaRole.Rowgroup).Last.GetByRole(AriaRole.Row)).ToHaveCountAsync(TestAppHost.Resources.Length);
        await Browser.ScreenshotAsync(page, "aspire-dashboard");
        KeepForDocs("aspire-dashboard");
    }

    [Fact]
    public async Task The_dashboard_shows_a_captured_lead_as_one_trace_across_runtime_api_and_the_worker()
    {
        using var runtime = topology.Client("runtime-api");
        var slug = await SignupFunnel.PublishAsync(runtime, topology.AdminPassword, "Dashboard");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await SignupFunnel.SubmitAsync(runtime, slug, "dashboard@example.com")).StatusCode);

        await using var browser = await Browser.LaunchAsync();
        var (page, login) = await SignedInDashboardAsync(browser);

        // The Traces page lists a trace per row with the resources its spans came from; the lead's
        // POST is the root, and the worker's handling of its LeadCaptured is in the same trace.
        await page.GotoAsync(new Uri(login, "/traces").ToString());
        var trace = page.GetByRole(AriaRole.Row)
            .Filter(new() { HasTextRegex = new Regex("POST /api/runtime/events") })
            .Filter(new() { HasText = "messaging-worker" }).First;
        try
        {
            // The page is live (Blazor): a new trace appears in the list without a reload.
            await Assertions.Expect(trace).ToBeVisibleAsync(new() { Timeout = 90_000 });
        }
        catch (TimeoutException)
        {
            await Browser.ScreenshotAsync(page, "aspire-trace-not-found");
            throw;
        }
        await Browser.ScreenshotAsync(page, "aspire-traces");
        // A row opens the trace's own page: its spans on a timeline, by resource.
        await trace.GetByRole(AriaRole.Gridcell).First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/traces/detail/"));
        await Assertions.Expect(page.GetByText("messaging-worker").First).ToBeVisibleAsync();
        await Browser.ScreenshotAsync(page, "aspire-trace");
        KeepForDocs("aspire-trace");
    }

    /// <summary>A dashboard page signed in with the login URL (its browser token) this run generated.</summary>
    private async Task<(IPage Page, Uri Login)> SignedInDashboardAsync(Browser browser)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(TimeSpan.FromMinutes(2));
        var login = await topology.App.GetDashboardUrlAsync(cancel.Token);
        var page = await browser.NewPageAsync(new Uri(login.GetLeftPart(UriPartial.Authority)), new ViewportSize { Width = 1600, Height = 900 });
        await page.GotoAsync(login.ToString());
        return (page, login);
    }

    /// <summary>The docs' pictures are refreshed on request only (FUNNELS_UPDATE_DOCS_IMAGES=1), so a test run leaves the tree clean.</summary>
    private static void KeepForDocs(string screenshot)
    {
        if (Environment.GetEnvironmentVariable("FUNNELS_UPDATE_DOCS_IMAGES") == "1")
        {
            File.Copy(Path.Combine(Browser.Screenshots, screenshot + ".png"),
                Path.Combine(TestAppHost.RepositoryRoot, "docs", "images", screenshot + ".png"), overwrite: true);
        }
    }
}
