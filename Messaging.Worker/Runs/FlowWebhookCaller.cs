using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Webhooks;
using Funnels.ServiceDefaults.Outbound;

namespace Funnels.Messaging.Runs;

/// <summary>
/// A flow's webhook node: POSTs the run context (or the node's body, interpolated) signed like
/// every Funnels webhook (X-Funnels-Signature over "{timestamp}.{body}" with the node's secret,
/// else "Flows:WebhookSecret"), with X-Funnels-Delivery "{run}:{step}" so a receiver can drop a
/// repeat, through the outbound policy (<see cref="OutboundHttp"/>). The answer (status and JSON
/// or text body, at most the policy's read limit; a 3xx is an answer, never followed) goes into the
/// run context under webhooks; a refused target comes back with <c>refused: true</c>.
/// </summary>
public sealed class FlowWebhookCaller(FlowSettings settings, OutboundHttp http)
{
    private const int MaxTextChars = 4096;

    public async Task<JsonObject> CallAsync(JsonObject node, LoadedRun run, string nodeId, JsonObject context, CancellationToken cancellationToken)
    {
        var body = node["body"] is JsonNode custom ? FlowContext.Interpolate(custom.ToJsonString(), context) : context.ToJsonString();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!Uri.TryCreate(node.Str("url"), UriKind.Absolute, out var url))
        {
            return new JsonObject { ["status"] = 0, ["error"] = OutboundPolicy.Refused, ["refused"] = true, ["node"] = nodeId };
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if ((node.Str("secret") ?? settings.WebhookSecret) is { Length: > 0 } secret)
        {
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, timestamp, body));
        }
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString());
        request.Headers.Add(WebhookSignature.EventHeader, "flow.webhook");
        request.Headers.Add(WebhookSignature.DeliveryHeader, $"{run.Id}:{run.Step}");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Funnels-Flows", "1.0"));

        var response = await http.SendAsync(request, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (response.Error is { } error)
        {
            var failed = new JsonObject { ["status"] = 0, ["error"] = error, ["node"] = nodeId };
            if (response.Refused) failed["refused"] = true;
            return failed;
        }
        var text = response.Body ?? "";
        JsonNode? parsed;
        if (response.Truncated)
        {
            // Cut off: not JSON any more, kept as text up to the read limit.
            parsed = JsonValue.Create(text);
        }
        else
        {
            try
            {
                parsed = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
                parsed = JsonValue.Create(text.Length > MaxTextChars ? text[..MaxTextChars] : text);
            }
        }
        var answer = new JsonObject { ["status"] = response.StatusCode, ["body"] = parsed, ["node"] = nodeId };
        if (response.Truncated) answer["truncated"] = true;
        return answer;
    }
}

/// <summary>"Flows" configuration.</summary>
public sealed class FlowSettings
{
    public string? WebhookSecret { get; set; }
}
