using Funnels.Admin.Api;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages.Leads;

/// <summary>Streams the funnel's CSV from Runtime.Api to the browser without holding it in memory.</summary>
public sealed class ExportModel(IRuntimeApi runtime) : PageModel
{
    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct)
    {
        var response = await runtime.LeadsCsvAsync(id, ct);
        if (!response.IsSuccessStatusCode)
        {
            return StatusCode((int)response.StatusCode);
        }
        var name = response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"') ?? "leads.csv";
        HttpContext.Response.RegisterForDispose(response);
        return File(await response.Content.ReadAsStreamAsync(ct), "text/csv; charset=utf-8", name);
    }
}
