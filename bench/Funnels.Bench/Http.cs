using System.Text;
using System.Text.Json;

namespace Funnels.Bench;

/// <summary>One connection pool for every load loop (loopback; no per-host connection cap).</summary>
public static class Http
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly SocketsHttpHandler Handler = new()
    {
        MaxConnectionsPerServer = int.MaxValue,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseCookies = false,
    };

    public static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent JsonBody(object body) => JsonBody(JsonSerializer.Serialize(body, Json));

    public static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {body}");
        }
    }
}
