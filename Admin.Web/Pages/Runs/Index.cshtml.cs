using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Runs;

public sealed class IndexModel(IFlowsApi flows) : PageModel
{
    [BindProperty(SupportsGet = true)] public RunSearch Search { get; set; } = new();
    public PagedList<Run> Runs { get; private set; } = new([], 1, 25, 0);
    public List<FlowSummary> Flows { get; private set; } = [];

    public RunRows Rows => new(Runs.Items, Flows.ToDictionary(f => f.Id, f => f.Name));

    public Pager Pager => new(Runs.Page, Runs.Pages, Runs.Total, p => Url.Page("Index", new { Search.FlowId, Search.Status, Page = p })!);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Search.PageSize = 25;
        var list = flows.FlowsAsync(1, 200, ct);
        Runs = await flows.RunsAsync(Search, ct);
        Flows = (await list).Items;
    }
}
