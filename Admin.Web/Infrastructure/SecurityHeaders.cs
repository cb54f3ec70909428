namespace Funnels.Admin.Infrastructure;

/// <summary>
/// Response headers for every panel page. The panel uses no script at all and only its own
/// stylesheet, so the policy can be strict: nothing but same-origin styles, images (charts are
/// inline SVG) and form posts; no page can be framed (clickjacking of signed-in pages).
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY"; // for browsers that predate frame-ancestors
        headers["Referrer-Policy"] = "same-origin";
        return next(context);
    });
}
