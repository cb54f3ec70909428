using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Account;

/// <summary>Your workspaces (switch between them) and the invitations waiting for you (accept or decline).</summary>
public sealed class WorkspacesModel(IRuntimeApi runtime) : PageModel
{
    public List<Membership> Memberships { get; private set; } = [];
    public List<Invitation> Invitations { get; private set; } = [];
    public Guid Current => User.Workspace();

    public async Task OnGetAsync(CancellationToken ct)
    {
        Memberships = await runtime.WorkspacesAsync(ct);
        Invitations = await runtime.InvitationsAsync(ct);
    }

    public async Task<IActionResult> OnPostAsync(Guid workspaceId, CancellationToken ct)
    {
        var token = await runtime.SwitchAsync(new SwitchRequest(workspaceId), ct);
        await AdminUser.SignInAsync(HttpContext, User.Identity!.Name!, token);
        TempData["Notice"] = "Switched workspace.";
        return RedirectToPage("/Index");
    }

    public async Task<IActionResult> OnPostAcceptAsync(Guid invitationId, CancellationToken ct)
    {
        var membership = await runtime.AcceptInvitationAsync(invitationId, ct);
        TempData["Notice"] = $"You joined {membership.Name} as {membership.Role}.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostDeclineAsync(Guid invitationId, CancellationToken ct)
    {
        await runtime.DeclineInvitationAsync(invitationId, ct);
        TempData["Notice"] = "Invitation declined.";
        return RedirectToPage();
    }
}
