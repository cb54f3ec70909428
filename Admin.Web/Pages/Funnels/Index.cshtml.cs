using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Funnels;

public sealed class IndexModel(IRuntimeApi runtime) : PageModel
{
    public PagedList<Funnel> Funnels { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(Funnels.Page, Funnels.Pages, Funnels.Total, p => Url.Page("Index", new { p })!);

    public async Task OnGetAsync(int? p, CancellationToken ct) => Funnels = await runtime.FunnelsAsync(p ?? 1, 25, ct);
}
