using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// Visitors linked to CRM contacts, for the crash tests: each poster collects a page view of a new
/// visitor's session, then posts the CRM's signed contact webhook naming that visitor, until stopped.
/// A request that gets no answer (the service was killed under it, or was down) is kept with status 0;
/// the webhooks in flight at any moment can be read.
/// </summary>
public sealed class LinkLoad
{
    /// <summary>One visitor: its collect's answer, and its webhook's (null when the collect was not accepted, so none was sent).</summary>
    public sealed record Link(string Visitor, string Session, string Contact, HttpStatusCode Collect, HttpStatusCode? Webhook);

    private readonly ConcurrentQueue<Link> _links = new();
    private readonly ConcurrentDictionary<string, bool> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _posting;

    private LinkLoad(Guid workspaceId, string secret, Func<HttpClient> client, int posters, TimeSpan pause) =>
        _posting = Task.WhenAll(Enumerable.Range(0, posters).Select(_ => Task.Run(() => PostUntilStoppedAsync(workspaceId, secret, client, pause))));

    public static LinkLoad Start(Guid workspaceId, string crmSecret, Func<HttpClient> client, int posters, TimeSpan pause) =>
        new(workspaceId, crmSecret, client, posters, pause);

    public async Task WaitForMoreAsync(int more, string what, Func<Link, bool>? counting = null)
    {
        counting ??= _ => true;
        var target = _links.Count(counting) + more;
        await Eventually.Until(() => Task.FromResult(_links.Count(counting) >= target ? "done" : null), TimeSpan.FromSeconds(90), $"{more} more visitors {what}");
    }

    /// <summary>Waits until at least <paramref name="webhooks"/> webhooks are in flight, and returns their visitors.</summary>
    public Task<string[]> WaitForInFlightAsync(int webhooks) => Eventually.Until(
        () => Task.FromResult(_inFlight.Count >= webhooks ? _inFlight.Keys.ToArray() : null), TimeSpan.FromSeconds(60), $"{webhooks} webhooks in flight");

    public async Task<IReadOnlyList<Link>> StopAsync()
    {
        await _stop.CancelAsync();
        await _posting;
        return [.. _links];
    }

    private async Task PostUntilStoppedAsync(Guid workspaceId, string secret, Func<HttpClient> newClient, TimeSpan pause)
    {
        using var client = newClient();
        while (!_stop.IsCancellationRequested)
        {
            var visitor = Guid.CreateVersion7().ToString();
            var session = $"s-{Guid.CreateVersion7()}";
            var contact = $"c-{Guid.CreateVersion7()}";
            // As t.js posts a page view: JSON as text/plain.
            var collected = await SendAsync(client, new HttpRequestMessage(HttpMethod.Post, "/api/tracking/collect")
            {
                Content = new StringContent(JsonSerializer.Serialize(new
                {
                    workspace_id = workspaceId, visitor_id = visitor, session_id = session,
                    events = new[] { new { id = $"e-{Guid.CreateVersion7()}", type = "page_view", url = "https://shop.example/landing", occurred_at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } },
                }, TestWorkspace.Json), Encoding.UTF8, "text/plain"),
            });
            HttpStatusCode? linked = null;
            if (collected == HttpStatusCode.Accepted)
            {
                // A GoHighLevel-shaped contact webhook, signed with the workspace's secret (the default visitor field, fid_vid).
                var json = JsonSerializer.Serialize(new { contact_id = contact, fid_vid = visitor });
                var webhook = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{workspaceId}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                webhook.Headers.Add("X-Funnels-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(json))));
                _inFlight[visitor] = true;
                try
                {
                    linked = await SendAsync(client, webhook);
                }
                finally
                {
                    _inFlight.TryRemove(visitor, out _);
                }
            }
            _links.Enqueue(new Link(visitor, session, contact, collected, linked));
            try
            {
                await Task.Delay(pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        try
        {
            // Not the test's token: a request under way when the test stops the load is still answered and kept.
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return CaptureLoad.NoAnswer;
        }
        finally
        {
            request.Dispose();
        }
    }
}
