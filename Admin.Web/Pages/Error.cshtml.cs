using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Funnels.Admin.Pages;

[IgnoreAntiforgeryToken]
[ResponseCache(Duration = 0, Location = ResponseCacheLocation.None, NoStore = true)]
public sealed class ErrorModel : PageModel
{
    public string Title { get; private set; } = "Something went wrong";
    public string Message { get; private set; } = "The page could not be shown. Try again in a moment; if it keeps happening, the System page shows which service is unwell.";

    public void OnGet(int? status)
    {
        if (status == 404)
        {
            Title = "Not found";
            Message = "There is nothing here, or it belongs to another workspace.";
        }
        Response.StatusCode = status ?? 500;
    }
}
