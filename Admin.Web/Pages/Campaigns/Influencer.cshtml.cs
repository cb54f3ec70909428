using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Campaigns;

/// <summary>One influencer across campaigns: statistics per campaign and conversions.</summary>
public sealed class InfluencerModel(ITrackingApi tracking) : PageModel
{
    private const int Size = 20;

    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    [BindProperty(SupportsGet = true, Name = "sp")] public int StatsPage { get; set; } = 1;
    [BindProperty(SupportsGet = true, Name = "cp")] public int ConversionsPage { get; set; } = 1;
    public PagedList<CampaignStats> Stats { get; private set; } = new([], 1, Size, 0);
    public PagedList<Conversion> Conversions { get; private set; } = new([], 1, Size, 0);
    public Influencer? Influencer { get; private set; }
    public IReadOnlyDictionary<Guid, string> CampaignNames { get; private set; } = new Dictionary<Guid, string>();
    [BindProperty] public string? ExternalKey { get; set; }
    public Dictionary<string, string[]> Errors { get; private set; } = [];

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public string Name => Influencer?.Name ?? Id.ToString();

    public string CampaignName(Guid id) => CampaignNames.TryGetValue(id, out var n) ? n : id.ToString()[..8];

    public Pager PagerFor(string key, int page, int pages, long total) => new(page, pages, total,
        p => Url.Page("Influencer", new Dictionary<string, object?> { ["id"] = Id, ["sp"] = StatsPage, ["cp"] = ConversionsPage, [key] = p })!);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostExternalKeyAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var key = string.IsNullOrWhiteSpace(ExternalKey) ? null : ExternalKey.Trim();
        var response = await tracking.SetInfluencerKeyAsync(Id, new ExternalKeyRequest(key), ct);
        if (response.IsSuccessStatusCode)
        {
            TempData["Notice"] = key is null ? "External key cleared." : $"External key set to {key}.";
            return RedirectToPage(new { id = Id });
        }
        Errors = ApiProblem.FieldErrors(response.Error);
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var stats = tracking.InfluencerStatsAsync(Id, Math.Max(1, StatsPage), Size, ct);
        var conversions = tracking.InfluencerConversionsAsync(Id, Math.Max(1, ConversionsPage), Size, ct);
        // The API has no single-influencer read: names come from the newest 200 of each list.
        var influencers = tracking.InfluencersAsync(1, 200, ct);
        var campaigns = tracking.CampaignsAsync(1, 200, ct);
        Stats = await stats;
        Conversions = await conversions;
        Influencer = (await influencers).Items.FirstOrDefault(i => i.Id == Id);
        CampaignNames = (await campaigns).Items.ToDictionary(c => c.Id, c => c.Name);
    }
}
