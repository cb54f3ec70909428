using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Funnels.Bench;

/// <summary>
/// Meta's Graph API stand-in, served by the bench process on a loopback port: answers every
/// <c>POST /{phone-number-id}/messages</c> with 200 and a wamid, and records when the first send
/// to each recipient of each phone-number id arrived (the burst's finish line).
/// </summary>
public sealed class FakeGraphApi : IAsyncDisposable
{
    public const string AccessToken = "bench-graph-token";

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTime>> firstSends = new();

    private FakeGraphApi()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, BenchLifetime>();
        app = builder.Build();
        // The claim's proof, as Meta answers it: the channel's own token sees its number (else error 190).
        app.MapGet("/{phoneNumberId}", (string phoneNumberId, HttpRequest request) =>
            request.Headers.Authorization.ToString() == "Bearer " + ChannelToken(phoneNumberId)
                ? Results.Json(new { id = phoneNumberId, display_phone_number = "+1 555-0100" })
                : Results.Json(new { error = new { message = "Invalid OAuth access token - Cannot parse access token", type = "OAuthException", code = 190, fbtrace_id = "bench" } },
                    statusCode: StatusCodes.Status401Unauthorized));
        app.MapPost("/{phoneNumberId}/messages", async (string phoneNumberId, HttpRequest request) =>
        {
            var received = DateTime.UtcNow;
            var body = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
            var to = body.RootElement.GetProperty("to").GetString()!;
            firstSends.GetOrAdd(phoneNumberId, _ => new()).TryAdd(to, received);
            return Results.Json(new { messaging_product = "whatsapp", contacts = new[] { new { input = to, wa_id = to } }, messages = new[] { new { id = "wamid.bench-" + Guid.NewGuid().ToString("N") } } });
        });
    }

    public string BaseUrl => app.Urls.First();

    /// <summary>The access token the fake accepts for a phone-number id (a claim's proof).</summary>
    public static string ChannelToken(string phoneNumberId) => "bench-channel-token-" + phoneNumberId;

    /// <summary>Recipients of this phone-number id that got at least one send, with the first one's arrival.</summary>
    public IReadOnlyDictionary<string, DateTime> FirstSends(string phoneNumberId) =>
        firstSends.TryGetValue(phoneNumberId, out var sends) ? sends : new Dictionary<string, DateTime>();

    public static async Task<FakeGraphApi> StartAsync()
    {
        var graph = new FakeGraphApi();
        await graph.app.StartAsync();
        return graph;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
