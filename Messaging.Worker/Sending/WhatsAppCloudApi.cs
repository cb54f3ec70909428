using System.Text.Json;
using System.Text.Json.Serialization;
using Funnels.ServiceDefaults.Security;
using Refit;

namespace Funnels.Messaging.Sending;

/// <summary>The one Graph API call flows need.</summary>
public interface IWhatsAppCloudApi
{
    /// <param name="authorization">"Bearer {token}": the channel's own token, else the install-wide one.</param>
    [Post("/{phoneNumberId}/messages")]
    Task<IApiResponse<GraphSendResponse>> SendMessageAsync(
        string phoneNumberId, [Body] JsonElement message, [Header("Authorization")] string? authorization, CancellationToken cancellationToken);
}

public sealed class GraphSendResponse
{
    [JsonPropertyName("messages")]
    public List<GraphMessageId>? Messages { get; set; }
}

public sealed class GraphMessageId
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }
}

/// <summary>
/// The Refit client over its own HttpClient, on purpose without the shared resilience pipeline:
/// a retry inside one attempt could send a message twice; every attempt is a durable, recorded
/// Wolverine retry instead. Base URL from "WhatsApp" configuration; the token per send: the
/// channel's own (decrypted with <see cref="SecretProtector"/>), else the install-wide
/// WhatsApp:AccessToken (channels an operator claimed without a token).
/// </summary>
public sealed class WhatsAppCloudClient
{
    private readonly WhatsAppSendSettings _settings;
    private readonly SecretProtector _secrets;

    public WhatsAppCloudClient(WhatsAppSendSettings settings, SecretProtector secrets)
    {
        _settings = settings;
        _secrets = secrets;
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(settings.GraphBaseUrl.TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromSeconds(settings.TimeoutSeconds),
        };
        Api = RestService.For<IWhatsAppCloudApi>(http, new RefitSettings(new SystemTextJsonContentSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web))));
    }

    public IWhatsAppCloudApi Api { get; }

    /// <summary>The Authorization header for sends from a channel (its protected token, or null for the install's).</summary>
    public string? AuthorizationFor(string phoneNumberId, string? protectedToken)
    {
        var token = protectedToken is null ? _settings.AccessToken : _secrets.Unprotect(protectedToken, phoneNumberId);
        return string.IsNullOrEmpty(token) ? null : "Bearer " + token;
    }
}

/// <summary>"WhatsApp" configuration of the worker (throttling: ThrottleSettings.cs).</summary>
public sealed partial class WhatsAppSendSettings
{
    private static readonly int[] Defaults = [2_000, 10_000, 60_000, 300_000];

    public string GraphBaseUrl { get; set; } = "https://graph.facebook.com/v21.0";
    public string? AccessToken { get; set; }
    public int TimeoutSeconds { get; set; } = 15;

    /// <summary>Meta's default throughput per business number is 80 messages a second.</summary>
    public int SendsPerPhoneNumberPerSecond { get; set; } = 80;

    // No initialiser: the configuration binder appends to an array's existing elements instead of replacing them.
    public int[]? RetryDelayMilliseconds { get; set; }

    public int Retries => (RetryDelayMilliseconds is { Length: > 0 } configured ? configured : Defaults).Length;

    public TimeSpan[] RetryDelays() =>
        (RetryDelayMilliseconds is { Length: > 0 } configured ? configured : Defaults).Select(ms => TimeSpan.FromMilliseconds(ms)).ToArray();
}
