using System.Text.Json;

namespace Funnels.Admin.Services;

/// <summary>Each service's /health, as the System page and the home page show it.</summary>
public sealed class ServiceStatus(IHttpClientFactory clients, ILogger<ServiceStatus> logger)
{
    public static readonly string[] Services = ["runtime-api", "tracking-api", "messaging-worker"];

    public async Task<IReadOnlyList<ServiceHealth>> CheckAllAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(Services.Select(name => CheckAsync(name, cancellationToken)));

    private async Task<ServiceHealth> CheckAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var response = await clients.CreateClient(name).GetAsync("/health", timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            using var json = JsonDocument.Parse(body);
            var checks = json.RootElement.GetProperty("checks").EnumerateObject()
                .ToDictionary(c => c.Name, c => c.Value.GetProperty("status").GetString() ?? "Unknown");
            return new ServiceHealth(name, json.RootElement.GetProperty("status").GetString() ?? "Unknown", checks);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            logger.LogWarning(ex, "Health of {Service} could not be read", name);
            return new ServiceHealth(name, "Unreachable", new Dictionary<string, string>());
        }
    }
}

public sealed record ServiceHealth(string Name, string Status, IReadOnlyDictionary<string, string> Checks);
