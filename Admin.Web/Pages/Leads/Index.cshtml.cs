using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Leads;

public sealed class IndexModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty(SupportsGet = true)] public LeadSearch Search { get; set; } = new();
    public PagedList<Lead> Leads { get; private set; } = new([], 1, 25, 0);
    public List<Funnel> Funnels { get; private set; } = [];

    public Pager Pager => new(Leads.Page, Leads.Pages, Leads.Total,
        p => Url.Page("Index", new { Search.Email, Search.Phone, Search.FunnelId, Search.Status, Page = p })!);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Search.PageSize = 25;
        var funnels = runtime.FunnelsAsync(1, 200, ct);
        Leads = await runtime.LeadsAsync(Search, ct);
        Funnels = (await funnels).Items;
    }
}
