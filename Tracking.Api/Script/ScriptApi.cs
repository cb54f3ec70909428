using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Funnels.Tracking.Script;

/// <summary>
/// GET /t.js: the tracking script, cacheable by browsers and CDNs (an hour, then revalidated by
/// its ETag). Per-workspace settings travel as data attributes on the script tag.
/// </summary>
public static class ScriptApi
{
    private static readonly Lazy<(byte[] Body, string ETag)> Script = new(() =>
    {
        using var stream = typeof(ScriptApi).Assembly.GetManifestResourceStream("Funnels.Tracking.Script.t.js")
            ?? throw new InvalidOperationException("t.js is not embedded in Tracking.Api.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var body = buffer.ToArray();
        return (body, $"\"{Convert.ToHexStringLower(SHA256.HashData(body))[..32]}\"");
    });

    public static void MapScriptApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/t.js", Get).WithTags("Tracking").WithName("TrackingScript").WithSummary("The tracking script");

    public static IResult Get(HttpContext http)
    {
        var (body, etag) = Script.Value;
        var headers = http.Response.Headers;
        headers.CacheControl = "public, max-age=3600";
        headers.ETag = etag;
        headers.AccessControlAllowOrigin = "*";
        if (http.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == etag || t.Trim() == "*")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Bytes(body, "text/javascript; charset=utf-8");
    }
}
