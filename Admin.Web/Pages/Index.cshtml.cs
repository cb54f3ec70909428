using Funnels.Admin.Services;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages;

public sealed class IndexModel(ServiceStatus status) : PageModel
{
    public IReadOnlyList<ServiceHealth> Services { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken) =>
        Services = await status.CheckAllAsync(cancellationToken);
}
