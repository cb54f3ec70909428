using System.Net.Http.Headers;
using System.Text.Json;

namespace Funnels.Runtime.WhatsApp;

/// <summary>What the Graph API said about a phone-number id and an access token.</summary>
public sealed record GraphProof(GraphProofOutcome Outcome, string? DisplayPhoneNumber = null, int? Code = null, string? Message = null);

public enum GraphProofOutcome
{
    /// <summary>200 with the same id: the token answers for the number.</summary>
    Proven,
    /// <summary>Meta's error 190: the token is invalid or expired.</summary>
    InvalidToken,
    /// <summary>Meta's error 100 (unknown object, or not visible to this token), or another id came back.</summary>
    NotThisToken,
    /// <summary>Another Graph API error.</summary>
    Refused,
    /// <summary>No answer, or a 5xx.</summary>
    Unavailable,
}

/// <summary>
/// Asks the Graph API whether an access token answers for a phone-number id:
/// <c>GET {GraphBaseUrl}/{phone-number-id}?fields=id,display_phone_number</c> with the token as
/// bearer. Meta's error bodies are <c>{"error": {"message", "type", "code", "error_subcode",
/// "fbtrace_id"}}</c>. Its own HttpClient: the Graph API's address is the operator's configuration
/// (WhatsApp:GraphBaseUrl), not a user's, and one question needs no resilience pipeline.
/// </summary>
public sealed class GraphPhoneNumbers(WhatsAppSettings settings)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
    {
        BaseAddress = new Uri(settings.GraphBaseUrl.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(settings.TimeoutSeconds),
    };

    public async Task<GraphProof> VerifyAsync(string phoneNumberId, string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Uri.EscapeDataString(phoneNumberId)}?fields=id,display_phone_number");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonElement body;
            try
            {
                body = JsonDocument.Parse(text).RootElement;
            }
            catch (JsonException)
            {
                return new GraphProof((int)response.StatusCode >= 500 ? GraphProofOutcome.Unavailable : GraphProofOutcome.Refused, Message: $"HTTP {(int)response.StatusCode}");
            }
            if (response.IsSuccessStatusCode)
            {
                var id = body.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                var display = body.TryGetProperty("display_phone_number", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return id == phoneNumberId
                    ? new GraphProof(GraphProofOutcome.Proven, display)
                    : new GraphProof(GraphProofOutcome.NotThisToken, Message: $"the Graph API answered for id {id}");
            }
            var error = body.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
            int? code = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : null;
            var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return code switch
            {
                190 => new GraphProof(GraphProofOutcome.InvalidToken, Code: 190, Message: message),
                100 => new GraphProof(GraphProofOutcome.NotThisToken, Code: 100, Message: message),
                _ when (int)response.StatusCode >= 500 => new GraphProof(GraphProofOutcome.Unavailable, Code: code, Message: message),
                _ => new GraphProof(GraphProofOutcome.Refused, Code: code, Message: message),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new GraphProof(GraphProofOutcome.Unavailable, Message: "no answer");
        }
    }
}
