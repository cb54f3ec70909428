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
/// phone-number id, with the status codes it was told to (then 200 with a wamid). It also answers
/// <c>GET /{phone-number-id}?fields=id,display_phone_number</c> the way Meta does, for the access
/// tokens it was told about (<see cref="Grant"/>): 200 with the number, else Meta's error bodies
/// (190 for a token it does not know, 100 for a number the token cannot see).
/// </summary>
public sealed class FakeGraphApi : IAsyncDisposable
{
    public const string AccessToken = "fake-graph-token";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _answers = new();
    private readonly ConcurrentQueue<Request> _requests = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _tokens = new();

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
        _app.MapGet("/{phoneNumberId}", (string phoneNumberId, HttpRequest request) =>
        {
            var header = request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
            if (token is null || !_tokens.TryGetValue(token, out var numbers))
            {
                return Results.Json(new { error = new { message = "Invalid OAuth access token - Cannot parse access token", type = "OAuthException", code = 190, fbtrace_id = "fake" } },
                    statusCode: StatusCodes.Status401Unauthorized);
            }
            if (!numbers.TryGetValue(phoneNumberId, out var display))
            {
                return Results.Json(new
                {
                    error = new
                    {
                        message = $"Unsupported get request. Object with ID '{phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
                        type = "GraphMethodException", code = 100, error_subcode = 33, fbtrace_id = "fake",
                    },
                }, statusCode: StatusCodes.Status400BadRequest);
            }
            return Results.Json(new { id = phoneNumberId, display_phone_number = display });
        });
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

    /// <summary>Makes an access token valid, able to see the given phone-number id.</summary>
    public void Grant(string token, string phoneNumberId, string displayPhoneNumber = "+1 555-0100") =>
        _tokens.GetOrAdd(token, _ => new ConcurrentDictionary<string, string>())[phoneNumberId] = displayPhoneNumber;

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
