using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Flows;

[Authorize(Policy = AdminUser.EditorPolicy)]
public sealed class CreateModel(IFlowsApi flows) : PageModel
{
    [BindProperty] public FlowForm Form { get; set; } = new();

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Form.ToRequest() is not { } request)
        {
            return Page();
        }
        var response = await flows.CreateFlowAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            Form.Errors = ApiProblem.FieldErrors(response.Error);
            return Page();
        }
        TempData["Notice"] = $"Flow '{response.Content!.Name}' created ({response.Content.Status}).";
        return RedirectToPage("Details", new { id = response.Content.Id });
    }
}
