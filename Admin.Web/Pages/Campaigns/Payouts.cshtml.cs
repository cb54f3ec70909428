using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Campaigns;

/// <summary>Payouts of conversion and of click/impression commissions by state: pending, scheduled (a durable message at the end of the refund window), paid, reversed.</summary>
public sealed class PayoutsModel(IMessagingApi messaging, ITrackingApi tracking) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? State { get; set; }
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    public PagedList<Payout> Payouts { get; private set; } = new([], 1, 25, 0);

    public IReadOnlyDictionary<Guid, string> CampaignNames { get; private set; } = new Dictionary<Guid, string>();
    public IReadOnlyDictionary<Guid, string> InfluencerNames { get; private set; } = new Dictionary<Guid, string>();

    public static string NameIn(IReadOnlyDictionary<Guid, string> names, Guid? id) => id is not { } g ? "–" : names.TryGetValue(g, out var n) ? n : g.ToString()[..8];

    public Pager Pager => new(Payouts.Page, Payouts.Pages, Payouts.Total, p => Url.Page("Payouts", new { State, p })!);

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (State is not null && !PayoutStates.All.Contains(State)) State = null;
        var payouts = messaging.PayoutsAsync(State, Math.Max(1, PageNumber), 25, ct);
        var campaigns = tracking.CampaignsAsync(1, 200, ct);
        var influencers = tracking.InfluencersAsync(1, 200, ct);
        Payouts = await payouts;
        CampaignNames = (await campaigns).Items.ToDictionary(c => c.Id, c => c.Name);
        InfluencerNames = (await influencers).Items.ToDictionary(i => i.Id, i => i.Name);
    }
}
