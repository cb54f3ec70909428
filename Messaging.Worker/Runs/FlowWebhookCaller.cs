using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Webhooks;

namespace Funnels.Messaging.Runs;

/// <summary>
/// A flow's webhook node: POSTs the run context (or the node's body, interpolated) signed like
/// every Funnels webhook (X-Funnels-Signature over "{timestamp}.{body}" with the node's secret,
/// else "Flows:WebhookSecret"), with X-Funnels-Delivery "{run}:{step}" so a receiver can drop a
/// repeat. The answer (status and JSON or text body) goes into the run context under webhooks.
/// </summary>
public sealed class FlowWebhookCaller(FlowSettings settings)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };

    public async Task<JsonObject> CallAsync(JsonObject node, LoadedRun run, string nodeId, JsonObject context, CancellationToken cancellationToken)
    {
        var body = node["body"] is JsonNode custom ? FlowContext.Interpolate(custom.ToJsonString(), context) : context.ToJsonString();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, node.Str("url")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if ((node.Str("secret") ?? settings.WebhookSecret) is { Length: > 0 } secret)
        {
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, timestamp, body));
        }
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString());
        request.Headers.Add(WebhookSignature.EventHeader, "flow.webhook");
        request.Headers.Add(WebhookSignature.DeliveryHeader, $"{run.Id}:{run.Step}");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Funnels-Flows", "1.0"));
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonNode? parsed;
            try
            {
                parsed = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
                parsed = JsonValue.Create(text.Length > 4096 ? text[..4096] : text);
            }
            return new JsonObject { ["status"] = (int)response.StatusCode, ["body"] = parsed, ["node"] = nodeId };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new JsonObject { ["status"] = 0, ["error"] = ex.Message, ["node"] = nodeId };
        }
    }
}

/// <summary>"Flows" configuration.</summary>
public sealed class FlowSettings
{
    public string? WebhookSecret { get; set; }
}
