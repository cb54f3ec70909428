using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Refit;

namespace Funnels.Admin.Infrastructure;

/// <summary>
/// One place that turns an API's refusal into what a person should see: an expired token signs
/// out and back to sign-in, 403 the "not allowed" page, 404 the not-found page. Registered once.
/// </summary>
public sealed class ApiErrorPageFilter(ILogger<ApiErrorPageFilter> logger) : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var executed = await next();
        if (executed.Exception is not ApiException api || executed.ExceptionHandled)
        {
            return;
        }
        logger.LogWarning("API answered {Status} to {Method} {Uri}", (int)api.StatusCode, api.HttpMethod, api.Uri);
        switch (api.StatusCode)
        {
            case HttpStatusCode.Unauthorized:
                await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                executed.Result = new RedirectToPageResult("/Account/SignIn", new { returnUrl = context.HttpContext.Request.Path.Value });
                break;
            case HttpStatusCode.Forbidden:
                executed.Result = new RedirectToPageResult("/Account/Denied");
                break;
            case HttpStatusCode.NotFound:
                executed.Result = new NotFoundResult();
                break;
            default:
                return;
        }
        executed.ExceptionHandled = true;
    }
}
