using Funnels.Admin.Api;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Leads;

public sealed class DetailsModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public Lead Lead { get; private set; } = null!;
    public List<LeadEvent> Events { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Lead = await runtime.LeadAsync(Id, ct);
        Events = await runtime.LeadEventsAsync(Id, ct);
    }
}
