using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Webhooks;

public sealed class DetailsModel(IMessagingApi messaging) : PageModel
{
    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    public PagedList<WebhookDelivery> Deliveries { get; private set; } = new([], 1, 25, 0);

    public Pager Pager => new(Deliveries.Page, Deliveries.Pages, Deliveries.Total, p => Url.Page("Details", new { Id, p })!);

    public async Task OnGetAsync(int? p, CancellationToken ct) => Deliveries = await messaging.DeliveriesAsync(Id, p ?? 1, 25, ct);
}
