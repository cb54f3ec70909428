using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.AppHost.Tests;

/// <summary>
/// Meta's Graph API for the topology: a loopback server answering every
/// <c>POST /v21.0/{phone-number-id}/messages</c> with a wamid and keeping what it was sent, and
/// <c>GET /v21.0/{phone-number-id}?fields=id,display_phone_number</c> as Meta does for the access
/// tokens it was told about (<see cref="Grant"/>; else Meta's error 190, or 100 for another number).
/// </summary>
public sealed class GraphApiRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Send> _sends = new();
    private readonly ConcurrentDictionary<string, string> _tokens = new();

    public sealed record Send(string PhoneNumberId, string To, string Type, string? Text, string? Authorization = null);

    /// <summary>Makes an access token valid for one phone-number id.</summary>
    public void Grant(string token, string phoneNumberId) => _tokens[token] = phoneNumberId;

    private GraphApiRecorder(WebApplication app) => _app = app;

    /// <summary>What the worker's WhatsApp__GraphBaseUrl points at.</summary>
    public string BaseUrl => _app.Urls.First() + "/v21.0";

    public IReadOnlyList<Send> SentFrom(string phoneNumberId) => _sends.Where(s => s.PhoneNumberId == phoneNumberId).ToList();

    public static async Task<GraphApiRecorder> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var recorder = new GraphApiRecorder(app);
        app.MapPost("/v21.0/{phoneNumberId}/messages", async (string phoneNumberId, HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var message = body.RootElement;
            var type = message.GetProperty("type").GetString() ?? "";
            var text = type == "text" ? message.GetProperty("text").GetProperty("body").GetString() : null;
            var to = message.GetProperty("to").GetString() ?? "";
            recorder._sends.Enqueue(new Send(phoneNumberId, to, type, text, request.Headers.Authorization.ToString()));
            return Results.Json(new { messaging_product = "whatsapp", contacts = new[] { new { input = to, wa_id = to } }, messages = new[] { new { id = "wamid.topology-" + Guid.NewGuid().ToString("N") } } });
        });
        app.MapGet("/v21.0/{phoneNumberId}", (string phoneNumberId, HttpRequest request) =>
        {
            var header = request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : "";
            if (!recorder._tokens.TryGetValue(token, out var granted))
            {
                return Results.Json(new { error = new { message = "Invalid OAuth access token - Cannot parse access token", type = "OAuthException", code = 190, fbtrace_id = "recorder" } },
                    statusCode: StatusCodes.Status401Unauthorized);
            }
            if (granted != phoneNumberId)
            {
                return Results.Json(new
                {
                    error = new
                    {
                        message = $"Unsupported get request. Object with ID '{phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
                        type = "GraphMethodException", code = 100, error_subcode = 33, fbtrace_id = "recorder",
                    },
                }, statusCode: StatusCodes.Status400BadRequest);
            }
            return Results.Json(new { id = phoneNumberId, display_phone_number = "+1 555-0199" });
        });
        await app.StartAsync();
        return recorder;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
