using Funnels.Admin.Api;
using Funnels.Admin.Charts;
using Funnels.Admin.Services;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages;

public sealed class IndexModel(IRuntimeApi runtime, ServiceStatus status) : PageModel
{
    public LeadsOverview Stats { get; private set; } = new(14, 0, 0, [], []);
    public IReadOnlyList<ServiceHealth> Services { get; private set; } = [];

    public BarChart LeadsPerDay => new($"Leads per day, last {Stats.Days} days (UTC)",
        Stats.PerDay.Select(d => new Bar(d.Day.ToString("MM-dd"), d.Leads)).ToList());

    public BarChart ConversionByFunnel => new("Conversion rate by funnel (%)",
        Stats.Funnels.Select(f => new Bar(f.Slug, (double)Math.Round(f.ConversionRate * 100, 1), "accent")).ToList());

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var stats = runtime.OverviewAsync(14, cancellationToken);
        Services = await status.CheckAllAsync(cancellationToken);
        Stats = await stats;
    }
}
