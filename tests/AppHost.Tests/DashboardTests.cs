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
        var traceId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        using var visitor = topology.Client("runtime-api");
        visitor.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}-01");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await SignupFunnel.SubmitAsync(visitor, slug, "dashboard@example.com")).StatusCode);

        await using var browser = await Browser.LaunchAsync();
        var (page, login) = await SignedInDashboardAsync(browser);

        // The trace's own page, found by the id the test gave the lead's request (W3C traceparent,
        // which ASP.NET Core continues): the busy shared topology keeps the live Traces list
        // re-rendering, so a row in it is no stable thing to click. The lead's POST and the
        // worker's handling of its LeadCaptured must both be spans of that trace.
        var detail = new Uri(login, $"/traces/detail/{traceId}").ToString();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            await page.GotoAsync(detail);
            try
            {
                await Assertions.Expect(page.GetByText(new Regex("POST /api/runtime/events")).First).ToBeVisibleAsync(new() { Timeout = 10_000 });
                await Assertions.Expect(page.GetByText("Funnels.Contracts.LeadCaptured", new() { Exact = true }).First).ToBeVisibleAsync(new() { Timeout = 10_000 });
                await Assertions.Expect(page.GetByText("messaging-worker").First).ToBeVisibleAsync(new() { Timeout = 10_000 });
                break;
            }
            catch (Exception e) when (e is PlaywrightException or TimeoutException && DateTime.UtcNow < deadline)
            {
                // Not all of the trace's spans have reached the dashboard yet (they come in batches).
            }
            catch (Exception e) when (e is PlaywrightException or TimeoutException)
            {
                await Browser.ScreenshotAsync(page, "aspire-trace-not-found");
                throw;
            }
        }
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
