using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Flows;

[Authorize(Policy = AdminUser.EditorPolicy)]
public sealed class EditModel(IFlowsApi flows) : PageModel
{
    [BindProperty(SupportsGet = true)] public Guid Id { get; set; }
    [BindProperty] public FlowForm Form { get; set; } = new();

    public async Task OnGetAsync(CancellationToken ct) => Form = FlowForm.From(await flows.FlowAsync(Id, ct));

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Form.ToRequest() is not { } request)
        {
            return Page();
        }
        var response = await flows.UpdateFlowAsync(Id, request, ct);
        if (!response.IsSuccessStatusCode)
        {
            Form.Errors = ApiProblem.FieldErrors(response.Error);
            return Page();
        }
        TempData["Notice"] = $"Saved (version {response.Content!.Version}).";
        return RedirectToPage("Details", new { id = Id });
    }
}
