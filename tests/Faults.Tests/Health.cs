using System.Text.Json;

namespace Funnels.Faults.Tests;

/// <summary>What a service's /health says of one of its checks (postgres, rabbitmq, redis).</summary>
internal static class Health
{
    public static async Task<string?> CheckAsync(HttpClient client, string check)
    {
        using var response = await client.GetAsync("/health", TestContext.Current.CancellationToken);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        return body.GetProperty("checks").TryGetProperty(check, out var entry) ? entry.GetProperty("status").GetString() : null;
    }
}
