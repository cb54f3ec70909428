using System.Net.Http.Headers;
using System.Text;
using Funnels.ServiceDefaults.Outbound;

namespace Funnels.Messaging.Webhooks;

/// <summary>
/// The HTTP side of a delivery, through the outbound policy's client (<see cref="OutboundHttp"/>:
/// no inside targets, no redirects, bounded time and read, no retries inside one attempt: every
/// attempt is a recorded, durable retry).
/// </summary>
public sealed class WebhookSender(OutboundHttp http)
{
    public Task<OutboundResponse> SendAsync(string url, string secret, Guid deliveryId, string eventType, string body, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            // Saved before URLs were checked: no request can be made of it, and no retry changes that.
            return Task.FromResult(new OutboundResponse(null, null, false, OutboundPolicy.Refused, true));
        }
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, timestamp, body));
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString());
        request.Headers.Add(WebhookSignature.EventHeader, eventType);
        request.Headers.Add(WebhookSignature.DeliveryHeader, deliveryId.ToString());
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Funnels-Webhooks", "1.0"));
        return SendDisposingAsync(request, cancellationToken);
    }

    private async Task<OutboundResponse> SendDisposingAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            return await http.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>"Webhooks" configuration: the delays between attempts (tests shorten them).</summary>
public sealed class WebhookSettings
{
    private static readonly int[] Defaults = [10_000, 60_000, 300_000, 1_800_000, 7_200_000];

    // No initialiser: the configuration binder appends to an array's existing elements instead of replacing them.
    public int[]? RetryDelayMilliseconds { get; set; }

    public int Retries => (RetryDelayMilliseconds is { Length: > 0 } configured ? configured : Defaults).Length;

    public TimeSpan[] RetryDelays() =>
        (RetryDelayMilliseconds is { Length: > 0 } configured ? configured : Defaults).Select(ms => TimeSpan.FromMilliseconds(ms)).ToArray();
}
