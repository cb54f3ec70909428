using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Refit;

namespace Funnels.Admin.Pages.Account;

public sealed class SignInModel(IRuntimeApi runtime) : PageModel
{
    [BindProperty] public string Email { get; set; } = "";
    [BindProperty] public string Password { get; set; } = "";
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string[] Errors { get; private set; } = [];

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        try
        {
            var token = await runtime.SignInAsync(new SignInRequest(Email.Trim(), Password), ct);
            await AdminUser.SignInAsync(HttpContext, Email.Trim().ToLowerInvariant(), token);
            return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/");
        }
        catch (ApiException ex) when ((int)ex.StatusCode is 400 or 401 or 403 or 429)
        {
            Errors = [(int)ex.StatusCode == 429 ? "Too many attempts; wait a minute and try again." : "The email or password is wrong."];
            return Page();
        }
    }
}
