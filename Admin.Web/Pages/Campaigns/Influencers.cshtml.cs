using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Campaigns;

/// <summary>The workspace's influencers; editors add them here.</summary>
public sealed class InfluencersModel(ITrackingApi tracking) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public PagedList<Influencer> Influencers { get; private set; } = new([], 1, 25, 0);
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? Handle { get; set; }
    [BindProperty] public string? ExternalKey { get; set; }
    public string[] Errors { get; private set; } = [];

    public Pager Pager => new(Influencers.Page, Influencers.Pages, Influencers.Total, p => Url.Page("Influencers", new { p })!);

    public async Task OnGetAsync(CancellationToken ct) => Influencers = await tracking.InfluencersAsync(Math.Max(1, PageNumber), 25, ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var response = await tracking.CreateInfluencerAsync(new InfluencerRequest(Name?.Trim(), string.IsNullOrWhiteSpace(Handle) ? null : Handle.Trim(),
            string.IsNullOrWhiteSpace(ExternalKey) ? null : ExternalKey.Trim()), ct);
        if (response.IsSuccessStatusCode)
        {
            TempData["Notice"] = $"Influencer {response.Content!.Name} added.";
            return RedirectToPage();
        }
        Errors = ApiProblem.FieldErrors(response.Error).SelectMany(e => e.Value.Select(v => e.Key.Length > 0 ? $"{e.Key} {v}" : v)).ToArray();
        Influencers = await tracking.InfluencersAsync(1, 25, ct);
        return Page();
    }
}
