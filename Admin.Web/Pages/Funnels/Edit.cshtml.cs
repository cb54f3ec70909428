using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Funnels;

[Authorize(Policy = AdminUser.EditorPolicy)]
public sealed class EditModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    [BindProperty] public FunnelForm Form { get; set; } = new();

    public async Task OnGetAsync(CancellationToken ct) => Form = FunnelForm.From(await runtime.FunnelAsync(Id, ct));

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Form.ToRequest() is not { } request)
        {
            return Page();
        }
        var response = await runtime.UpdateFunnelAsync(Id, request, ct);
        if (!response.IsSuccessStatusCode)
        {
            Form.Errors = ApiProblem.FieldErrors(response.Error);
            return Page();
        }
        TempData["Notice"] = "Saved.";
        return RedirectToPage("Details", new { id = Id });
    }
}
