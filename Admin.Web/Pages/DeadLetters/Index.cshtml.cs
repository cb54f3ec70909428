using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.DeadLetters;

/// <summary>The worker's dead letters: install-wide, so only operators (owners of the operator workspace) see them.</summary>
[Authorize(Policy = AdminUser.OperatorPolicy)]
public sealed class IndexModel(IFlowsApi messaging) : PageModel
{
    [BindProperty(SupportsGet = true)] public DeadLetterSearch Search { get; set; } = new();
    public PagedList<DeadLetter> DeadLetters { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(DeadLetters.Page, DeadLetters.Pages, DeadLetters.Total, p => Url.Page("Index", new { Search.MessageType, Page = p })!);

    public async Task OnGetAsync(CancellationToken ct)
    {
        Search.PageSize = 25;
        DeadLetters = await messaging.DeadLettersAsync(Search, ct);
    }

    public async Task<IActionResult> OnPostReplayAsync(Guid id, CancellationToken ct)
    {
        await messaging.ReplayDeadLetterAsync(id, ct);
        TempData["Notice"] = "Queued for replay: the worker picks it up within its polling interval, and it leaves this list.";
        return RedirectToPage(new { Search.MessageType });
    }

    public async Task<IActionResult> OnPostDiscardAsync(Guid id, CancellationToken ct)
    {
        await messaging.DiscardDeadLetterAsync(id, ct);
        TempData["Notice"] = "Dead letter discarded.";
        return RedirectToPage(new { Search.MessageType });
    }
}
