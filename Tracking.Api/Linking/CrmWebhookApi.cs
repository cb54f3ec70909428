using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Settings;
using Funnels.Tracking.Web;
using Funnels.Tracking.Workspaces;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Linking;

public sealed record CrmWebhookOutcome(string ContactId, string? VisitorId, string Link, int SessionsLinked);

/// <summary>
/// Contact webhooks from a CRM (GoHighLevel shapes included): authenticated by the workspace's
/// secret, either as an HMAC-SHA256 of the body (<c>X-Funnels-Signature: sha256=hex</c>) or as a
/// shared token (<c>X-Funnels-Token</c>). Upserts the contact, then links the visitor id it carries.
/// </summary>
public static class CrmWebhookApi
{
    public const string SignatureHeader = "X-Funnels-Signature";
    public const string TokenHeader = "X-Funnels-Token";
    private const int MaxBodyBytes = 64 * 1024;

    public static void MapCrmWebhookApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        app.MapPost("/api/tracking/webhooks/crm/{workspace:guid}", Receive)
            .WithTags("Linking").WithName("CrmContactWebhook")
            .WithSummary("A CRM contact created or updated: upsert it and link the visitor id it carries")
            .Accepts<JsonElement>("application/json")
            .Produces<CrmWebhookOutcome>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimit(new RateLimit("tracking-crm", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp));
    }

    public static async Task<IResult> Receive(
        Guid workspace, HttpContext http, [FromServices] NpgsqlDataSource dataSource, [FromServices] IMessageContext messages,
        [FromServices] KnownWorkspaces workspaces, CancellationToken cancellationToken)
    {
        var (root, raw, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null && raw.Length == 0)
        {
            return problem; // too large: refused before anything else
        }
        if (!await workspaces.ContainsAsync(workspace, cancellationToken))
        {
            return KnownWorkspaces.Unknown("workspace");
        }

        WorkspaceSettings settings;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            settings = await WorkspaceSettings.LoadAsync(connection, workspace);
        }
        if (settings.CrmSecret is null || !Authentic(http.Request, raw, settings.CrmSecret))
        {
            return TypedResults.Problem("Sign the body with the workspace's CRM secret (X-Funnels-Signature: sha256=<hex HMAC>) or send it as X-Funnels-Token.",
                title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
        }
        if (problem is not null)
        {
            return problem;
        }

        var errors = new Dictionary<string, string[]>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            return JsonBody.Invalid(new() { ["body"] = ["must be a JSON object"] });
        }
        var fields = new FieldReader(root, "", errors);
        var contactField = fields.Has("contact_id") ? "contact_id" : fields.Has("contactId") ? "contactId" : fields.Has("id") ? "id" : "contact_id";
        var contactId = fields.Id(contactField, required: true);
        var email = fields.Text("email", maxLength: 320)?.ToLowerInvariant();
        var phone = fields.Text("phone", maxLength: 32);
        var visitorId = VisitorIdOf(root, settings.VisitorField, errors);
        if (errors.Count > 0)
        {
            return JsonBody.Invalid(errors);
        }

        var now = DateTime.UtcNow;
        var outcome = await messages.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            await LinkWriter.UpsertContactAsync(transaction, workspace, contactId!, email, phone, now);
            if (visitorId is null)
            {
                return new CrmWebhookOutcome(contactId!, null, "no_visitor_id", 0);
            }
            var link = await LinkWriter.LinkAsync(transaction, messages, workspace, visitorId, contactId!, LinkMethods.Webhook, now);
            return new CrmWebhookOutcome(contactId!, visitorId, link.Result, link.SessionsLinked);
        }, cancellationToken);
        return TypedResults.Ok(outcome);
    }

    /// <summary>The visitor id under the workspace's field name, at the top level or in customData / custom_data / custom_fields.</summary>
    private static string? VisitorIdOf(JsonElement root, string field, Dictionary<string, string[]> errors)
    {
        foreach (var container in new[] { "", "customData", "custom_data", "custom_fields", "customFields" })
        {
            var scope = container.Length == 0 ? root : root.TryGetProperty(container, out var c) ? c : default;
            if (scope.ValueKind != JsonValueKind.Object || !scope.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            var path = container.Length == 0 ? field : $"{container}.{field}";
            var text = value.ValueKind == JsonValueKind.String ? value.GetString()!.Trim() : null;
            if (text is { Length: 0 })
            {
                continue; // a form field left empty: no visitor id
            }
            if (text is null || !Ids.IsValid(text))
            {
                errors[path] = [Ids.Rule];
                return null;
            }
            return text;
        }
        return null;
    }

    private static bool Authentic(HttpRequest request, byte[] body, string secret)
    {
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        var signature = request.Headers[SignatureHeader].ToString();
        if (signature.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(secretBytes, body)));
            return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature[7..].ToLowerInvariant()));
        }
        var token = request.Headers[TokenHeader].ToString();
        return token.Length > 0 && CryptographicOperations.FixedTimeEquals(secretBytes, Encoding.UTF8.GetBytes(token));
    }
}
