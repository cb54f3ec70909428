using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Funnels.ServiceDefaults.Web;

/// <summary>
/// Minimal APIs throw <see cref="BadHttpRequestException"/> for a request they cannot bind: JSON
/// that does not parse or has a wrong type, a missing body, an unsupported content type. Answer it
/// as problem details with the exception's own 4xx status and what was wrong (including the JSON
/// path the serializer names), instead of a 500 or a bare status code.
/// </summary>
public sealed class BadRequestProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }
        http.Response.StatusCode = bad.StatusCode;
        var detail = bad.InnerException is { } inner ? $"{bad.Message} {inner.Message}" : bad.Message;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = { Status = bad.StatusCode, Detail = detail },
        });
    }
}
