using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.AppHost.Tests;

/// <summary>
/// Meta's Graph API for the topology: a loopback server answering every
/// <c>POST /v21.0/{phone-number-id}/messages</c> with a wamid and keeping what it was sent.
/// </summary>
public sealed class GraphApiRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Send> _sends = new();

    public sealed record Send(string PhoneNumberId, string To, string Type, string? Text);

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
            recorder._sends.Enqueue(new Send(phoneNumberId, to, type, text));
            return Results.Json(new { messaging_product = "whatsapp", contacts = new[] { new { input = to, wa_id = to } }, messages = new[] { new { id = "wamid.topology-" + Guid.NewGuid().ToString("N") } } });
        });
        await app.StartAsync();
        return recorder;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
