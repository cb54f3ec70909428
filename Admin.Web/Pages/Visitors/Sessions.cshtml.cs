using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Visitors;

/// <summary>One visitor's sessions, with the contact each is linked to and how.</summary>
public sealed class SessionsModel(ITrackingApi tracking) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? VisitorId { get; set; }
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public PagedList<TrackedSession> Sessions { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(Sessions.Page, Sessions.Pages, Sessions.Total, p => Url.Page("Sessions", new { VisitorId, p })!);

    public async Task OnGetAsync(CancellationToken ct)
    {
        VisitorId = VisitorId?.Trim();
        if (!string.IsNullOrEmpty(VisitorId))
        {
            Sessions = await tracking.SessionsAsync(VisitorId, Math.Max(1, PageNumber), 25, ct);
        }
    }
}
