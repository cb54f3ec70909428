using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// Meta's Graph API stand-in: a real HTTP server on a loopback port taking
/// <c>POST /{phone-number-id}/messages</c>, recording every request and answering, per
/// phone-number id, with the status codes it was told to (then 200 with a wamid).
/// </summary>
public sealed class FakeGraphApi : IAsyncDisposable
{
    public const string AccessToken = "fake-graph-token";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _answers = new();
    private readonly ConcurrentQueue<Request> _requests = new();

    public sealed record Request(string PhoneNumberId, JsonElement Body, string? Authorization, int AnsweredWith, string? Wamid)
    {
        public string To => Body.GetProperty("to").GetString()!;
        public string Type => Body.GetProperty("type").GetString()!;
        public string? Text => Type == "text" ? Body.GetProperty("text").GetProperty("body").GetString() : null;
    }

    private FakeGraphApi()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/{phoneNumberId}/messages", async (string phoneNumberId, HttpRequest request) =>
        {
            var body = await JsonDocument.ParseAsync(request.Body);
            var status = _answers.TryGetValue(phoneNumberId, out var queue) && queue.TryDequeue(out var next) ? next : 200;
            var wamid = status == 200 ? "wamid.fake-" + Guid.NewGuid().ToString("N") : null;
            _requests.Enqueue(new Request(phoneNumberId, body.RootElement.Clone(), request.Headers.Authorization.ToString(), status, wamid));
            if (status == 200)
            {
                var to = body.RootElement.GetProperty("to").GetString();
                return Results.Json(new { messaging_product = "whatsapp", contacts = new[] { new { input = to, wa_id = to } }, messages = new[] { new { id = wamid } } });
            }
            return Results.Json(new { error = new { message = $"fake error {status}", type = "OAuthException", code = status >= 500 ? 1 : 100, fbtrace_id = "fake" } }, statusCode: status);
        });
    }

    public string BaseUrl => _app.Urls.First();

    /// <summary>The next answers for sends from this phone-number id (then 200).</summary>
    public void Answer(string phoneNumberId, params int[] statuses)
    {
        var queue = _answers.GetOrAdd(phoneNumberId, _ => new ConcurrentQueue<int>());
        foreach (var status in statuses) queue.Enqueue(status);
    }

    public IReadOnlyList<Request> RequestsFor(string phoneNumberId) => _requests.Where(r => r.PhoneNumberId == phoneNumberId).ToList();

    public IReadOnlyList<Request> SentFor(string phoneNumberId) => _requests.Where(r => r.PhoneNumberId == phoneNumberId && r.AnsweredWith == 200).ToList();

    public static async Task<FakeGraphApi> StartAsync()
    {
        var graph = new FakeGraphApi();
        await graph._app.StartAsync();
        return graph;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
