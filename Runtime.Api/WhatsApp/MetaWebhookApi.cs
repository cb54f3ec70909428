using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// Meta's WhatsApp Cloud API webhook. GET answers the subscription challenge; POST checks the
/// X-Hub-Signature-256 of the raw body, keeps the delivery and queues it for Messaging.Worker in
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

    public static IResult Verify(
        [FromQuery(Name = "hub.mode")] string? mode, [FromQuery(Name = "hub.verify_token")] string? token,
        [FromQuery(Name = "hub.challenge")] string? challenge, [FromServices] WhatsAppSettings settings)
    {
        if (mode != "subscribe" || string.IsNullOrEmpty(settings.VerifyToken) || token is null || challenge is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(settings.VerifyToken)))
        {
            return TypedResults.Problem("The verify token does not match.", title: "Forbidden", statusCode: StatusCodes.Status403Forbidden);
        }
        return TypedResults.Text(challenge, "text/plain");
    }

    public static async Task<IResult> Receive(
        HttpContext http, [FromServices] WhatsAppSettings settings, [FromServices] NpgsqlDataSource dataSource,
        [FromServices] IMessageContext messages, [FromServices] ILogger<WhatsAppSettings> logger, CancellationToken cancellationToken)
    {
        var body = await ReadLimitedAsync(http.Request, settings.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return TypedResults.Problem($"The body is larger than {settings.MaxBodyBytes} bytes.", title: "Payload too large", statusCode: StatusCodes.Status413PayloadTooLarge);
        }
        if (string.IsNullOrEmpty(settings.AppSecret))
        {
            logger.LogError("WhatsApp:AppSecret is not configured: every Meta delivery is refused");
            return Unauthorized();
        }
        if (!SignatureMatches(settings.AppSecret, body, http.Request.Headers[SignatureHeader].ToString()))
        {
            return Unauthorized();
        }

        string payload;
        string[] phoneNumberIds;
        try
        {
            payload = new UTF8Encoding(false, true).GetString(body);
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                // Meta always sends an object; anything else is no delivery, even when signed.
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["must be a JSON object (a WhatsApp Cloud API delivery)"] });
            }
            phoneNumberIds = PhoneNumberIdsOf(document.RootElement);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["is not valid UTF-8 JSON"] });
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
        return TypedResults.Ok();
    }

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
/// "WhatsApp" configuration of Runtime.Api: Meta's app secret and the webhook verify token, and
/// the Graph API that proves a claimed number's access token (the same GraphBaseUrl as the worker's).
/// </summary>
public sealed class WhatsAppSettings
{
    public string GraphBaseUrl { get; set; } = "https://graph.facebook.com/v21.0";
    public int TimeoutSeconds { get; set; } = 15;
    public string? AppSecret { get; set; }
    public string? VerifyToken { get; set; }
    public int MaxBodyBytes { get; set; } = 1024 * 1024;
    public int WebhooksPerIpPerMinute { get; set; } = 6_000;
}
