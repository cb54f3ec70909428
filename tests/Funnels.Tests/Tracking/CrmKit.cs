using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Funnels.Tests.Tracking;

/// <summary>A workspace's CRM adapter configured through the tracking settings API, and deliveries to it as each CRM sends them.</summary>
public sealed class CrmKit(TrackedWorkspace tracked, JsonElement configured)
{
    public TrackedWorkspace Tracked { get; } = tracked;
    public string Address { get; } = configured.GetProperty("address").GetString()!;
    public string? Secret { get; } = configured.TryGetProperty("secret", out var s) ? s.GetString() : null;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<CrmKit> ConfigureAsync(TrackedWorkspace tracked, string adapter, object settings)
    {
        var response = await tracked.Admin.PutAsJsonAsync($"/api/tracking/settings/crm/{adapter}", settings, TrackedWorkspace.Json, Cancel);
        Assert.True(response.IsSuccessStatusCode, $"PUT {adapter}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancel)}");
        return new CrmKit(tracked, await response.Content.ReadFromJsonAsync<JsonElement>(Cancel));
    }

    /// <summary>The body exactly as given (JSON text), with the headers the sender adds.</summary>
    public Task<HttpResponseMessage> PostAsync(string json, Action<HttpRequestMessage>? sign = null, string? address = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, address ?? Address) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        sign?.Invoke(request);
        return Tracked.Public.SendAsync(request, Cancel);
    }

    /// <summary>HubSpot's v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp with the app's client secret.</summary>
    public static Action<HttpRequestMessage> HubSpotV3(string secret, string json, DateTimeOffset? at = null) => request =>
    {
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds().ToString();
        var uri = "http://localhost" + request.RequestUri!.OriginalString;
        var signature = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("POST" + uri + json + timestamp)));
        request.Headers.Add("X-HubSpot-Signature-v3", signature);
        request.Headers.Add("X-HubSpot-Request-Timestamp", timestamp);
        request.Headers.Add("X-HubSpot-Signature-Version", "v3");
    };

    /// <summary>HTTP basic auth, as Pipedrive sends the http_auth_user / http_auth_password of the webhook.</summary>
    public static Action<HttpRequestMessage> Basic(string user, string password) => request =>
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public static Action<HttpRequestMessage> Token(string token) => request => request.Headers.Add("X-Funnels-Token", token);
}
