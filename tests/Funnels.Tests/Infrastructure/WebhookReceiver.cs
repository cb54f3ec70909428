using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// A CRM stand-in: a real HTTP server on a loopback port that records every request it is sent
/// and answers with the status codes it was told to (then 200).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _answers;

    public sealed record Received(string Body, IReadOnlyDictionary<string, string> Headers, int AnsweredWith);

    public ConcurrentQueue<Received> Requests { get; } = new();

    private WebhookReceiver(IEnumerable<int> answers)
    {
        _answers = new ConcurrentQueue<int>(answers);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/hook", async (HttpRequest request) =>
        {
            var body = await new StreamReader(request.Body).ReadToEndAsync();
            var status = _answers.TryDequeue(out var next) ? next : 200;
            Requests.Enqueue(new Received(body, request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), status));
            // Recorded (the CRM took it) before any hold: a caller killed while held has delivered it.
            await Gate.PassAsync(request.HttpContext.RequestAborted);
            return Results.StatusCode(status);
        });
    }

    public string Url => _app.Urls.First() + "/hook";

    /// <summary>Holds requests once recorded, until opened: see <see cref="RequestGate"/>.</summary>
    public RequestGate Gate { get; } = new();

    public static async Task<WebhookReceiver> StartAsync(params int[] answers)
    {
        var receiver = new WebhookReceiver(answers);
        await receiver._app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
