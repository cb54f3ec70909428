using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Funnels;

[Authorize(Policy = AdminUser.EditorPolicy)]
public sealed class CreateModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty] public FunnelForm Form { get; set; } = new();

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Form.ToRequest() is not { } request)
        {
            return Page();
        }
        var response = await runtime.CreateFunnelAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            Form.Errors = ApiProblem.FieldErrors(response.Error);
            return Page();
        }
        TempData["Notice"] = $"Funnel '{response.Content!.Name}' created. Publish it to accept events.";
        return RedirectToPage("Details", new { id = response.Content.Id });
    }
}
