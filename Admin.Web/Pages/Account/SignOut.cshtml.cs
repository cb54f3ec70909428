using Funnels.Admin.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Refit;

namespace Funnels.Admin.Pages.Account;

/// <summary>
/// Ends the API session behind the cookie first (every service refuses its token within seconds,
/// so a copy of the cookie replayed later is signed out at its next request), then the cookie.
/// </summary>
public sealed class SignOutModel(IRuntimeApi runtime, ILogger<SignOutModel> logger) : PageModel
{
    public IActionResult OnGet() => RedirectToPage("/Index");

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        try
        {
            await runtime.SignOutAsync(ct);
        }
        catch (ApiException ex) when ((int)ex.StatusCode == 401)
        {
            // The session had already ended.
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException)
        {
            logger.LogWarning(ex, "Runtime.Api did not end the session of {User}; its token stays valid until it expires", User.Identity?.Name);
        }
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return RedirectToPage("/Account/SignIn");
    }
}
