using System.Security.Cryptography;
using System.Text.Json;
using Funnels.ServiceDefaults.Contacts;
using Funnels.ServiceDefaults.Messaging;
using Funnels.ServiceDefaults.RateLimiting;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Linking.Crm;
using Funnels.Tracking.Settings;
using Funnels.Tracking.Web;
using Funnels.Tracking.Workspaces;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;

namespace Funnels.Tracking.Linking;

/// <summary>One contact of a delivery: linked, confirmed, relinked, conflict or no_visitor_id (with why the visitor id was not one).</summary>
public sealed record CrmWebhookOutcome(string ContactId, string? VisitorId, string Link, int SessionsLinked, string? VisitorIdIgnored = null);

/// <summary>A delivery's answer: each contact it carried, and the events it ignored (and why, when that is all it carried).</summary>
public sealed record CrmDeliveryOutcome(string Adapter, IReadOnlyList<CrmWebhookOutcome> Contacts, int Ignored, string? IgnoredWhy);

/// <summary>
/// Contact webhooks from CRMs (Linking/Crm, docs/crm-webhooks.md): <c>POST /api/tracking/crm/{adapter}/{workspace}</c>
/// authenticated by the adapter's header, signature or basic auth, or <c>POST /api/tracking/crm/{adapter}/{path token}</c>
/// for senders that can set none. The first GoHighLevel address, <c>/api/tracking/webhooks/crm/{workspace}</c>, keeps
/// working. Each contact is upserted and the visitor id it carries linked (a signed link), in one outbox transaction.
/// </summary>
public static class CrmWebhookApi
{
    public const string SignatureHeader = CrmAuth.SignatureHeader;
    public const string TokenHeader = CrmAuth.TokenHeader;
    private const int MaxBodyBytes = 64 * 1024;

    public static void MapCrmWebhookApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<TrackingLimits>();
        var rateLimit = new RateLimit("tracking-crm", limits.TrackingPerIpPerMinute, TimeSpan.FromMinutes(1), RateLimitFilter.ClientIp);
        app.MapPost("/api/tracking/webhooks/crm/{workspace:guid}", (Guid workspace, HttpContext http, [AsParameters] CrmServices services, CancellationToken ct) =>
                ReceiveAsync(CrmAdapters.GoHighLevel, workspace.ToString(), http, services, legacyAddress: true, ct))
            .WithTags("Linking").WithName("CrmContactWebhook")
            .WithSummary("GoHighLevel's contact webhook at its first address: upsert the contact and link the visitor id it carries")
            .Accepts<JsonElement>("application/json")
            .Produces<CrmWebhookOutcome>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimit(rateLimit);
        app.MapPost("/api/tracking/crm/{adapter}/{key}", (string adapter, string key, HttpContext http, [AsParameters] CrmServices services, CancellationToken ct) =>
                ReceiveAsync(adapter, key, http, services, legacyAddress: false, ct))
            .WithTags("Linking").WithName("CrmAdapterWebhook")
            .WithSummary("A CRM's contact webhook (gohighlevel, hubspot, pipedrive, generic) by workspace id or URL token: upsert the contacts and link their visitor ids")
            .Accepts<JsonElement>("application/json")
            .Produces<CrmWebhookOutcome>()
            .Produces<CrmDeliveryOutcome>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimit(rateLimit);
    }

    public sealed class CrmServices
    {
        [FromServices] public required NpgsqlDataSource DataSource { get; init; }
        [FromServices] public required IMessageContext Messages { get; init; }
        [FromServices] public required KnownWorkspaces Workspaces { get; init; }
        [FromServices] public required SecretProtector Secrets { get; init; }
        [FromServices] public required TimeProvider Clock { get; init; }
        [FromServices] public required CrmMetrics Metrics { get; init; }
        [FromServices] public required ILogger<CrmServices> Logger { get; init; }
    }

    private static async Task<IResult> ReceiveAsync(string adapter, string key, HttpContext http, CrmServices services, bool legacyAddress, CancellationToken cancellationToken)
    {
        if (!CrmAdapters.All.Contains(adapter))
        {
            return TypedResults.Problem($"There is no '{adapter}' CRM adapter: use one of {string.Join(", ", CrmAdapters.All)}.",
                title: "Unknown CRM adapter", statusCode: StatusCodes.Status404NotFound);
        }
        var (root, raw, problem) = await JsonBody.ReadAsync(http.Request, MaxBodyBytes, cancellationToken);
        if (problem is not null && raw.Length == 0)
        {
            return problem; // too large: refused before anything else
        }

        CrmAdapterSettings? settings;
        WorkspaceSettings workspaceSettings;
        var byPathToken = !Guid.TryParse(key, out _);
        // Only the gohighlevel adapter, at a workspace's address, accepts the workspace's CRM secret (CrmAuth.Legacy).
        var usesWorkspaceSecret = adapter == CrmAdapters.GoHighLevel && !byPathToken;
        await using (var connection = await services.DataSource.OpenConnectionAsync(cancellationToken))
        {
            if (Guid.TryParse(key, out var workspace))
            {
                if (!await services.Workspaces.ContainsAsync(workspace, cancellationToken))
                {
                    return KnownWorkspaces.Unknown("workspace");
                }
                settings = await CrmAdapterSettings.LoadAsync(connection, workspace, adapter);
                if (settings is null && adapter == CrmAdapters.GoHighLevel)
                {
                    settings = CrmAdapterSettings.Legacy(workspace);
                }
            }
            else
            {
                settings = key.Length is > 16 and <= 128 ? await CrmAdapterSettings.ByPathTokenAsync(connection, adapter, key) : null;
            }
            workspaceSettings = settings is null ? null! : await WorkspaceSettings.LoadAsync(connection, settings.WorkspaceId);
            if (settings is not null && usesWorkspaceSecret)
            {
                await CrmSecrets.ProtectIfPlaintextAsync(connection, workspaceSettings, services.Secrets, services.Metrics, services.Logger);
            }
        }
        if (settings is null)
        {
            return Refuse(services, adapter, null, Guid.TryParse(key, out _)
                ? $"This workspace has not configured the {adapter} adapter: an owner sets it up in tracking settings (PUT /api/tracking/settings/crm/{adapter})."
                : "This URL token is not valid for the adapter (it may have been replaced): copy the current address from the workspace's tracking settings.");
        }

        var (workspaceSecret, workspaceSecretUnreadable) = usesWorkspaceSecret ? WorkspaceSecret(workspaceSettings, services) : (null, false);
        string? refusal;
        try
        {
            refusal = CrmAuth.Refusal(http.Request, raw, settings, byPathToken, workspaceSecret, services.Secrets, services.Clock.GetUtcNow());
            if (refusal is not null && workspaceSecretUnreadable)
            {
                refusal = "The workspace's CRM secret cannot be read with this installation's encryption key: an owner rotates it in tracking settings.";
            }
        }
        catch (CryptographicException ex)
        {
            services.Logger.LogError(ex, "The {Adapter} adapter secret of workspace {WorkspaceId} cannot be decrypted (Secrets:EncryptionKey changed?)", adapter, settings.WorkspaceId);
            refusal = $"The {adapter} adapter's secret cannot be read with this installation's encryption key: an owner sets it again in tracking settings.";
        }
        if (refusal is not null)
        {
            return Refuse(services, adapter, settings.WorkspaceId, refusal);
        }
        if (problem is not null)
        {
            services.Metrics.Delivery(adapter, "invalid");
            return problem;
        }

        var parsed = CrmAdapters.Parse(adapter, root, settings, workspaceSettings.VisitorField);
        if (parsed.Delivery is not { } delivery)
        {
            services.Metrics.Delivery(adapter, "invalid");
            services.Logger.LogWarning("CRM delivery for workspace {WorkspaceId} refused by the {Adapter} adapter: {Errors}",
                settings.WorkspaceId, adapter, string.Join("; ", parsed.Errors!.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
            return JsonBody.Invalid(parsed.Errors!);
        }

        if (delivery.Contacts.FirstOrDefault(c => VisitorIds.IsPlaceholder(c.ContactId)) is { } placeholder)
        {
            services.Metrics.Delivery(adapter, "invalid");
            return JsonBody.Invalid(new() { ["body"] = [$"names the contact '{placeholder.ContactId}', a placeholder: the {adapter} adapter needs the CRM's real contact id"] });
        }

        var now = DateTime.UtcNow;
        var endpoint = "crm-" + adapter;
        var outcomes = await services.Messages.InOutboxTransactionAsync(services.DataSource, async transaction =>
        {
            var results = new List<CrmWebhookOutcome>();
            foreach (var contact in delivery.Contacts)
            {
                await LinkWriter.UpsertContactAsync(transaction, settings.WorkspaceId, contact.ContactId, contact.Email, contact.Phone, now, contact.Tags);
                var visitorId = VisitorIds.Parse(contact.Visitor, out var reason);
                if (visitorId is null)
                {
                    results.Add(new CrmWebhookOutcome(contact.ContactId, null, "no_visitor_id", 0, reason));
                    continue;
                }
                var link = await LinkWriter.LinkAsync(transaction, services.Messages, settings.WorkspaceId, visitorId, contact.ContactId, LinkMethods.Webhook, now);
                results.Add(new CrmWebhookOutcome(contact.ContactId, visitorId, link.Result, link.SessionsLinked));
            }
            return results;
        }, cancellationToken);
        foreach (var outcome in outcomes)
        {
            if (outcome.VisitorIdIgnored is { } reason)
            {
                VisitorIds.Count(endpoint, reason);
            }
            services.Metrics.Delivery(adapter, outcome.Link);
        }
        if (delivery.Ignored > 0)
        {
            services.Metrics.Delivery(adapter, "ignored", delivery.Ignored);
        }
        // One contact (GoHighLevel, Pipedrive, generic) answers as the first webhook always did; HubSpot's batches list their contacts.
        return outcomes.Count == 1 && adapter != CrmAdapters.HubSpot
            ? TypedResults.Ok(outcomes[0])
            : TypedResults.Ok(new CrmDeliveryOutcome(adapter, outcomes, delivery.Ignored, delivery.IgnoredWhy));
    }

    /// <summary>The workspace's CRM secret, or whether it does not decrypt here (the adapter's own authentication may still hold).</summary>
    private static (string? Secret, bool Unreadable) WorkspaceSecret(WorkspaceSettings settings, CrmServices services)
    {
        try
        {
            return (CrmSecrets.Unprotected(settings, services.Secrets), false);
        }
        catch (CryptographicException ex)
        {
            services.Logger.LogError(ex, "The CRM secret of workspace {WorkspaceId} cannot be decrypted (Secrets:EncryptionKey changed?)", settings.WorkspaceId);
            return (null, true);
        }
    }

    private static IResult Refuse(CrmServices services, string adapter, Guid? workspace, string detail)
    {
        services.Metrics.Delivery(adapter, "unauthorized");
        services.Logger.LogWarning("CRM delivery to the {Adapter} adapter of workspace {WorkspaceId} refused: {Reason}", adapter, workspace, detail);
        return TypedResults.Problem(detail, title: "Unauthorized", statusCode: StatusCodes.Status401Unauthorized);
    }
}
