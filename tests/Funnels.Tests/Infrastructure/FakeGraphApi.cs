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

    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Code, int Status)>> _errors = new();

    public sealed record Request(string PhoneNumberId, JsonElement Body, string? Authorization, int AnsweredWith, string? Wamid)
    {
        /// <summary>Meta's error code it was answered with (scripted with <see cref="AnswerError"/> / <see cref="AnswerErrorTo"/>).</summary>
        public int? ErrorCode { get; init; }

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
            var recipient = body.RootElement.TryGetProperty("to", out var toElement) ? toElement.GetString() ?? "" : "";
            if ((_errors.TryGetValue("to:" + recipient, out var byRecipient) && byRecipient.TryDequeue(out var scripted))
                || (_errors.TryGetValue(phoneNumberId, out var byNumber) && byNumber.TryDequeue(out scripted)))
            {
                _requests.Enqueue(new Request(phoneNumberId, body.RootElement.Clone(), request.Headers.Authorization.ToString(), scripted.Status, null) { ErrorCode = scripted.Code });
                return Results.Json(ErrorBody(scripted.Code), statusCode: scripted.Status);
            }
            var status = _answers.TryGetValue(phoneNumberId, out var queue) && queue.TryDequeue(out var next) ? next : 200;
            var wamid = status == 200 ? "wamid.fake-" + Guid.NewGuid().ToString("N") : null;
            _requests.Enqueue(new Request(phoneNumberId, body.RootElement.Clone(), request.Headers.Authorization.ToString(), status, wamid));
            // Recorded (Meta took it) before any hold: a caller killed while held has sent the message.
            await Gate.PassAsync(request.HttpContext.RequestAborted);
            if (status == 200)
            {
                var to = body.RootElement.GetProperty("to").GetString();
                return Results.Json(new { messaging_product = "whatsapp", contacts = new[] { new { input = to, wa_id = to } }, messages = new[] { new { id = wamid } } });
            }
            return Results.Json(new { error = new { message = $"fake error {status}", type = "OAuthException", code = status >= 500 ? 1 : 100, fbtrace_id = "fake" } }, statusCode: status);
        });
    }

    public string BaseUrl => _app.Urls.First();

    /// <summary>Holds sends (the normal, unscripted answers) once recorded, until opened: see <see cref="RequestGate"/>.</summary>
    public RequestGate Gate { get; } = new();

    /// <summary>The next answers for sends from this phone-number id (then 200).</summary>
    public void Answer(string phoneNumberId, params int[] statuses)
    {
        var queue = _answers.GetOrAdd(phoneNumberId, _ => new ConcurrentQueue<int>());
        foreach (var status in statuses) queue.Enqueue(status);
    }

    /// <summary>The next <paramref name="times"/> sends from this phone-number id are answered with Meta's error body for the code (HTTP 400 as Meta sends them).</summary>
    public void AnswerError(string phoneNumberId, int code, int times = 1, int httpStatus = 400) => Script(phoneNumberId, code, times, httpStatus);

    /// <summary>The next <paramref name="times"/> sends to this recipient (wa_id), from any number, are answered with Meta's error body for the code.</summary>
    public void AnswerErrorTo(string waId, int code, int times = 1, int httpStatus = 400) => Script("to:" + waId, code, times, httpStatus);

    /// <summary>Sends to this recipient are answered normally again (what was scripted for it and not yet used is dropped).</summary>
    public void StopErrorsTo(string waId) => _errors.TryRemove("to:" + waId, out _);

    private void Script(string key, int code, int times, int httpStatus)
    {
        var queue = _errors.GetOrAdd(key, _ => new ConcurrentQueue<(int, int)>());
        for (var i = 0; i < times; i++) queue.Enqueue((code, httpStatus));
    }

    /// <summary>
    /// Meta's error bodies as its Cloud API error-code reference shows them: {"error": {"message", "type",
    /// "code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}; 190 is a Graph API token
    /// error (error_subcode, no error_data).
    /// </summary>
    public static object ErrorBody(int code) => code switch
    {
        190 => new
        {
            error = new
            {
                message = "Error validating access token: Session has expired on Tuesday, 01-Dec-26 04:00:00 PST. The current time is Tuesday, 01-Dec-26 05:12:44 PST.",
                type = "OAuthException", code = 190, error_subcode = 463, fbtrace_id = "AbCdEfGh-fake190",
            },
        },
        _ => new
        {
            error = new
            {
                message = code switch
                {
                    130429 => "(#130429) Rate limit hit",
                    131056 => "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                    131026 => "(#131026) Message Undeliverable.",
                    131047 => "(#131047) Re-engagement message",
                    _ => $"(#{code}) Fake error",
                },
                type = "OAuthException",
                code,
                error_data = new
                {
                    messaging_product = "whatsapp",
                    details = code switch
                    {
                        130429 => "Cloud API message throughput has been reached.",
                        131056 => "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
                        131026 => "Message Undeliverable.",
                        131047 => "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                        _ => "Fake error details.",
                    },
                },
                fbtrace_id = "AbCdEfGh-fake" + code,
            },
        },
    };

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
