using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// Meta's WhatsApp Cloud API webhook. GET answers the subscription challenge; POST checks the
/// X-Hub-Signature-256 of the raw body with the app secret of its numbers' channels (the
/// install's WhatsApp:AppSecret for numbers without one; numbers of different apps in one delivery
/// are refused), keeps the delivery and queues it for Messaging.Worker in
/// one outbox transaction, and answers 200 at once: no flow ever runs in this request.
/// </summary>
public static class MetaWebhookApi
{
    public const string SignatureHeader = "X-Hub-Signature-256";

    public static void MapMetaWebhookApi(this IEndpointRouteBuilder app)
    {
        var settings = app.ServiceProvider.GetRequiredService<WhatsAppSettings>();
        var limit = new RateLimit("meta-webhooks-ip", settings.WebhooksPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp);
        var group = app.MapGroup("/webhooks/meta").WithTags("WhatsApp").RequireRateLimit(limit);
        group.MapGet("/", Verify).WithName("VerifyMetaWebhook").WithSummary("Meta's subscription challenge (hub.mode, hub.verify_token, hub.challenge)");
        group.MapPost("/", Receive).WithName("ReceiveMetaWebhook").WithSummary("A signed WhatsApp Cloud API delivery; 200 once it is stored and queued")
            .Accepts<JsonElement>("application/json");
    }

    /// <summary>The install's verify token (WhatsApp:VerifyToken) or any channel's own one answers Meta's challenge.</summary>
    public static async Task<IResult> Verify(
        [FromQuery(Name = "hub.mode")] string? mode, [FromQuery(Name = "hub.verify_token")] string? token,
        [FromQuery(Name = "hub.challenge")] string? challenge, [FromServices] WhatsAppSettings settings, [FromServices] ChannelCredentials credentials,
        CancellationToken cancellationToken)
    {
        if (mode != "subscribe" || string.IsNullOrEmpty(token) || challenge is null
            || !(IsInstallVerifyToken(settings, token) | await credentials.IsChannelVerifyTokenAsync(token, cancellationToken)))
        {
            return TypedResults.Problem("The verify token does not match.", title: "Forbidden", statusCode: StatusCodes.Status403Forbidden);
        }
        return TypedResults.Text(challenge, "text/plain");
    }

    private static bool IsInstallVerifyToken(WhatsAppSettings settings, string token) =>
        !string.IsNullOrEmpty(settings.VerifyToken) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(settings.VerifyToken));

    public static async Task<IResult> Receive(
        HttpContext http, [FromServices] WhatsAppSettings settings, [FromServices] ChannelCredentials credentials, [FromServices] MetaWebhookMetrics metrics,
        [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages, [FromServices] ILogger<WhatsAppSettings> logger,
        CancellationToken cancellationToken)
    {
        // This endpoint enforces its own limit (WhatsApp:MaxBodyBytes, 413 problem details), above or below Kestrel's default.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
        var body = await ReadLimitedAsync(http.Request, settings.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            metrics.Refused("too_large");
            return TypedResults.Problem($"The body is larger than {settings.MaxBodyBytes} bytes (WhatsApp:MaxBodyBytes).", title: "Payload too large",
                statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        // The still-unverified body names the numbers only to choose whose app secret signs it; nothing else is read before the check.
        var (document, phoneNumberIds) = ReadUnverified(body);
        using var _ = document;
        IReadOnlyDictionary<string, string?> own;
        try
        {
            own = await credentials.AppSecretsAsync(phoneNumberIds, cancellationToken);
        }
        catch (CryptographicException)
        {
            // Logged by ChannelCredentials; Meta retries a delivery that was not answered 200, so nothing is lost.
            metrics.Refused("secret_unreadable");
            return TypedResults.Problem("A channel's app secret cannot be decrypted right now; try again.", title: "Service unavailable",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        var secrets = phoneNumberIds.Length == 0 ? [settings.AppSecret] : phoneNumberIds.Select(id => own[id] ?? settings.AppSecret).Distinct(StringComparer.Ordinal).ToArray();
        if (secrets.Length > 1)
        {
            logger.LogWarning("A Meta delivery names phone-number ids of different Meta apps ({PhoneNumberIds}; with their own app secret: {OwnSecret}): refused",
                phoneNumberIds, phoneNumberIds.Where(id => own[id] is not null).ToArray());
            metrics.Refused("mixed_apps");
            return TypedResults.Problem("The delivery names phone numbers of different Meta apps; each app's deliveries must come signed on their own.",
                title: "Forbidden", statusCode: StatusCodes.Status403Forbidden);
        }
        if (string.IsNullOrEmpty(secrets[0]))
        {
            logger.LogError("WhatsApp:AppSecret is not configured: Meta deliveries for numbers without an app secret of their own are refused");
            metrics.Refused("not_configured");
            return Unauthorized();
        }
        if (!SignatureMatches(secrets[0]!, body, http.Request.Headers[SignatureHeader].ToString()))
        {
            metrics.Refused("bad_signature");
            return Unauthorized();
        }

        string payload;
        try
        {
            payload = new UTF8Encoding(false, true).GetString(body);
        }
        catch (ArgumentException)
        {
            return InvalidJson();
        }
        if (document is null) return InvalidJson();
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            // Meta always sends an object; anything else is no delivery, even when signed.
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["must be a JSON object (a WhatsApp Cloud API delivery)"] });
        }

        var eventId = Guid.CreateVersion7();
        var receivedAt = DateTimeOffset.UtcNow;
        await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            await connection.ExecuteAsync("INSERT INTO runtime.whatsapp_webhook_events (id, body, received_at) VALUES (@eventId, @payload, @receivedAt)",
                new { eventId, payload, receivedAt }, transaction);
            var channels = (await connection.QueryAsync<ChannelRow>(
                "SELECT phone_number_id, workspace_id FROM runtime.whatsapp_channels WHERE phone_number_id = ANY(@phoneNumberIds)",
                new { phoneNumberIds }, transaction)).Select(c => new WhatsAppChannel(c.PhoneNumberId, c.WorkspaceId)).ToList();
            await messages.PublishAsync(new WhatsAppWebhookReceived(eventId, payload, channels, receivedAt));
        }, cancellationToken);
        metrics.Accepted();
        return TypedResults.Ok();
    }

    /// <summary>The body as JSON (null when it is not) and the phone-number ids it names.</summary>
    private static (JsonDocument? Document, string[] PhoneNumberIds) ReadUnverified(byte[] body)
    {
        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(body);
            return (document, document.RootElement.ValueKind == JsonValueKind.Object ? PhoneNumberIdsOf(document.RootElement) : []);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // Not JSON, or a string that is no text (a lone surrogate escape): no delivery, whoever signed it.
            document?.Dispose();
            return (null, []);
        }
    }

    private static IResult InvalidJson() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["is not valid UTF-8 JSON"] });

    /// <summary>"sha256=" + hex HMAC-SHA256 of the raw body with the app secret, compared in constant time.</summary>
    public static bool SignatureMatches(string appSecret, byte[] body, string header)
    {
        const string prefix = "sha256=";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        byte[] given;
        try
        {
            given = Convert.FromHexString(header.AsSpan(prefix.Length));
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(appSecret), body);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static string[] PhoneNumberIdsOf(JsonElement root)
    {
        var ids = new HashSet<string>();
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in entries.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("changes", out var changes) || changes.ValueKind != JsonValueKind.Array) continue;
                foreach (var change in changes.EnumerateArray())
                {
                    if (change.ValueKind == JsonValueKind.Object && change.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Object
                        && value.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                        && metadata.TryGetProperty("phone_number_id", out var id) && id.ValueKind == JsonValueKind.String)
                    {
                        ids.Add(id.GetString()!);
                    }
                }
            }
        }
        return ids.ToArray();
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes)
            {
                return null;
            }
        }
        return buffer.ToArray();
    }

    private sealed record ChannelRow(string PhoneNumberId, Guid WorkspaceId);

    private static IResult Unauthorized() =>
        TypedResults.Problem($"Missing or wrong {SignatureHeader}.", title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
}

/// <summary>
/// "WhatsApp" configuration of Runtime.Api: Meta's app secret and the webhook verify token (the
/// defaults for channels without their own), and
/// the Graph API that proves a claimed number's access token (the same GraphBaseUrl as the worker's).
/// </summary>
public sealed class WhatsAppSettings
{
    public string GraphBaseUrl { get; set; } = "https://graph.facebook.com/v21.0";
    public int TimeoutSeconds { get; set; } = 15;
    public string? AppSecret { get; set; }
    public string? VerifyToken { get; set; }
    /// <summary>Meta's deliveries may be up to 3 MB.</summary>
    public int MaxBodyBytes { get; set; } = 3 * 1024 * 1024;
    public int WebhooksPerIpPerMinute { get; set; } = 6_000;
}
