using Funnels.Admin.Api;
using Funnels.Admin.Charts;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Visitors;

/// <summary>How well anonymous visitors are linked to CRM contacts: figures by method, and the conflicts.</summary>
public sealed class IndexModel(ITrackingApi tracking) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public LinkingStats Stats { get; private set; } = new(0, 0, 0, 0, 0, 0, []);
    public PagedList<LinkConflict> Conflicts { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(Conflicts.Page, Conflicts.Pages, Conflicts.Total, p => Url.Page("Index", new { p })!);

    public BarChart SecondsToLink => new("Seconds from session start to link, median and p95, by method",
        Stats.ByMethod.SelectMany(m => new[]
        {
            new Bar($"{m.Method} median", Math.Round(m.MedianSeconds ?? 0, 1)),
            new Bar($"{m.Method} p95", Math.Round(m.P95Seconds ?? 0, 1), "accent"),
        }).ToList());

    public async Task OnGetAsync(CancellationToken ct)
    {
        var stats = tracking.LinkingStatsAsync(ct);
        Conflicts = await tracking.ConflictsAsync(Math.Max(1, PageNumber), 25, ct);
        Stats = await stats;
    }

    public static string Seconds(double? seconds) => seconds is { } s ? s.ToString("0.##", global::System.Globalization.CultureInfo.InvariantCulture) + " s" : "–";
}
