using System.Globalization;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Campaigns;

/// <summary>The workspace's campaigns; editors create them here.</summary>
public sealed class IndexModel(ITrackingApi tracking) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public PagedList<Campaign> Campaigns { get; private set; } = new([], 1, 25, 0);
    [BindProperty] public CampaignForm Form { get; set; } = new();
    public Dictionary<string, string[]> Errors { get; private set; } = [];

    public Pager Pager => new(Campaigns.Page, Campaigns.Pages, Campaigns.Total, p => Url.Page("Index", new { p })!);

    public string[] ErrorsFor(string field) => Errors.TryGetValue(field, out var e) ? e : [];

    public async Task OnGetAsync(CancellationToken ct) => Campaigns = await tracking.CampaignsAsync(Math.Max(1, PageNumber), 25, ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        if (!User.CanEdit()) return Forbid();
        var (request, errors) = Form.ToRequest();
        if (request is not null)
        {
            var response = await tracking.CreateCampaignAsync(request, ct);
            if (response.IsSuccessStatusCode)
            {
                TempData["Notice"] = $"Campaign {response.Content!.Name} created.";
                return RedirectToPage("Details", new { id = response.Content.Id });
            }
            errors = ApiProblem.FieldErrors(response.Error);
        }
        Errors = errors;
        Campaigns = await tracking.CampaignsAsync(1, 25, ct);
        return Page();
    }
}

/// <summary>The create form as typed; amounts are read as invariant decimals, never through a float.</summary>
public sealed class CampaignForm
{
    public string? Name { get; set; }
    public string? Product { get; set; }
    public string? Brand { get; set; }
    public string? BudgetAmount { get; set; }
    public string? Currency { get; set; } = "USD";
    public string Status { get; set; } = "active";
    public DateTime? StartsAt { get; set; }
    public DateTime? EndsAt { get; set; }
    public int RefundWindowDays { get; set; } = 30;
    public string? ExternalKey { get; set; }

    public (CampaignRequest? Request, Dictionary<string, string[]> Errors) ToRequest()
    {
        var errors = new Dictionary<string, string[]>();
        decimal? amount = null;
        if (decimal.TryParse(BudgetAmount?.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed)) amount = parsed;
        else errors["budget.amount"] = ["must be a number such as 1000000.00"];
        if (RefundWindowDays is < 0 or > 365) errors["refund_window_seconds"] = ["must be between 0 and 365 days"];
        if (errors.Count > 0) return (null, errors);
        return (new CampaignRequest(Name?.Trim(), Blank(Product), Blank(Brand), new MoneyInput(amount, Currency?.Trim().ToUpperInvariant()),
            AsUtc(StartsAt), AsUtc(EndsAt), Status, RefundWindowDays * 86_400, Blank(ExternalKey)), errors);
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static DateTime? AsUtc(DateTime? date) => date is { } d ? DateTime.SpecifyKind(d, DateTimeKind.Utc) : null;
}
