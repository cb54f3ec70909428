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
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(TimeSpan.FromMinutes(2));
        // The login URL with the browser token this run generated.
        var login = await topology.App.GetDashboardUrlAsync(cancel.Token);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(new Uri(login.GetLeftPart(UriPartial.Authority)), new ViewportSize { Width = 1600, Height = 900 });

        await page.GotoAsync(login.ToString());

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
        var docs = Path.Combine(TestAppHost.RepositoryRoot, "docs", "images");
        Directory.CreateDirectory(docs);
        File.Copy(Path.Combine(Browser.Screenshots, "aspire-dashboard.png"), Path.Combine(docs, "aspire-dashboard.png"), overwrite: true);
    }
}
