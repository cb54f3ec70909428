using System.Globalization;
using Funnels.Admin.Api;
using Funnels.Admin.Charts;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Campaigns;

/// <summary>A campaign: its statistics per influencer, commission rules, conversions and commissions with their payouts.</summary>
public sealed class DetailsModel(ITrackingApi tracking, IMessagingApi messaging) : PageModel
{
    private const int Size = 20;

    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    [BindProperty(SupportsGet = true, Name = "ip")] public int InfluencersPage { get; set; } = 1;
    [BindProperty(SupportsGet = true, Name = "rp")] public int RulesPage { get; set; } = 1;
    [BindProperty(SupportsGet = true, Name = "cp")] public int ConversionsPage { get; set; } = 1;
    [BindProperty(SupportsGet = true, Name = "mp")] public int CommissionsPage { get; set; } = 1;

    public Campaign Campaign { get; private set; } = null!;
    public CampaignStatsView Stats { get; private set; } = null!;
    public PagedList<CommissionRule> Rules { get; private set; } = new([], 1, Size, 0);
    public PagedList<Conversion> Conversions { get; private set; } = new([], 1, Size, 0);
    public PagedList<Commission> Commissions { get; private set; } = new([], 1, Size, 0);
    public CampaignBudget BudgetLeft { get; private set; } = null!;
    public IReadOnlyDictionary<Guid, string> InfluencerNames { get; private set; } = new Dictionary<Guid, string>();

    [BindProperty] public Guid? RuleInfluencerId { get; set; }
    [BindProperty] public string RuleKind { get; set; } = "per_conversion_percent";
    [BindProperty] public string? RuleValue { get; set; }
    [BindProperty] public string? ExternalKey { get; set; }
    public Dictionary<string, string[]> Errors { get; private set; } = [];

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public string NameOf(Guid? influencer) => influencer is not { } id ? "every influencer" : InfluencerNames.TryGetValue(id, out var n) ? n : id.ToString()[..8];

    public Pager PagerFor(string key, int page, int pages, long total) => new(page, pages, total, p => Url.Page("Details", new Dictionary<string, object?>
    {
        ["id"] = Id, ["ip"] = InfluencersPage, ["rp"] = RulesPage, ["cp"] = ConversionsPage, ["mp"] = CommissionsPage, [key] = p,
    })!);

    public BarChart ConversionsByInfluencer => new("Conversions by influencer",
        Stats.Influencers.Items.Select(s => new Bar(NameOf(s.InfluencerId), s.Conversions)).ToList());

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostRuleAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var percent = RuleKind == "per_conversion_percent";
        if (!decimal.TryParse(RuleValue?.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var value))
        {
            Errors = new() { [percent ? "percent" : "amount"] = ["must be a number such as 12.5"] };
        }
        else
        {
            var response = await tracking.CreateRuleAsync(Id, new RuleRequest(RuleInfluencerId, RuleKind, percent ? null : value, percent ? value : null), ct);
            if (response.IsSuccessStatusCode)
            {
                TempData["Notice"] = $"Rule added: {response.Content!.Terms} for {(RuleInfluencerId is null ? "every influencer" : "one influencer")}.";
                return RedirectToPage(new { id = Id });
            }
            Errors = ApiProblem.FieldErrors(response.Error);
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostExternalKeyAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var key = string.IsNullOrWhiteSpace(ExternalKey) ? null : ExternalKey.Trim();
        var response = await tracking.SetCampaignKeyAsync(Id, new ExternalKeyRequest(key), ct);
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
        var campaign = tracking.CampaignAsync(Id, ct);
        var stats = tracking.CampaignStatsAsync(Id, Math.Max(1, InfluencersPage), Size, ct);
        var rules = tracking.RulesAsync(Id, Math.Max(1, RulesPage), Size, ct);
        var conversions = tracking.CampaignConversionsAsync(Id, Math.Max(1, ConversionsPage), Size, ct);
        var commissions = messaging.CommissionsAsync(Id, Math.Max(1, CommissionsPage), Size, ct);
        var influencers = tracking.InfluencersAsync(1, 200, ct);
        var budget = messaging.CampaignBudgetAsync(Id, ct);
        Campaign = await campaign;
        Stats = await stats;
        Rules = await rules;
        Conversions = await conversions;
        Commissions = await commissions;
        BudgetLeft = await budget;
        InfluencerNames = (await influencers).Items.ToDictionary(i => i.Id, i => i.Name);
    }
}
