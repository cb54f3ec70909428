using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Account;

public sealed class WorkspacesModel(IRuntimeApi runtime) : PageModel
{
    public List<Membership> Memberships { get; private set; } = [];
    public Guid Current => User.Workspace();

    public async Task OnGetAsync(CancellationToken ct) => Memberships = await runtime.WorkspacesAsync(ct);

    public async Task<IActionResult> OnPostAsync(Guid workspaceId, CancellationToken ct)
    {
        var token = await runtime.SwitchAsync(new SwitchRequest(workspaceId), ct);
        await AdminUser.SignInAsync(HttpContext, User.Identity!.Name!, token);
        TempData["Notice"] = "Switched workspace.";
        return RedirectToPage("/Index");
    }
}
