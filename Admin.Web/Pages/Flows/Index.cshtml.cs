using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Flows;

public sealed class IndexModel(IFlowsApi flows) : PageModel
{
    public PagedList<FlowSummary> Flows { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(Flows.Page, Flows.Pages, Flows.Total, p => Url.Page("Index", new { p })!);

    public async Task OnGetAsync(int? p, CancellationToken ct) => Flows = await flows.FlowsAsync(p ?? 1, 25, ct);
}
