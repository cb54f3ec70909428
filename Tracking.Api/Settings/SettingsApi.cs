using System.Security.Claims;
using System.Text.RegularExpressions;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// The workspace's tracking settings: the CRM webhook secret (stored encrypted, CrmSecrets), the visitor
/// field name, the storage key t.js watches, and the attribution key (and whether attribution requests must carry it).
/// </summary>
public static partial class SettingsApi
{
    public static void MapSettingsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tracking/settings").WithTags("Tracking settings");
        api.MapGet("/", Get).WithName("GetTrackingSettings")
            .WithSummary("Settings, the CRM webhook address and the script snippet").RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapPut("/", Put).WithName("PutTrackingSettings")
            .WithSummary("Change the visitor field name and the storage key").RequireAuthorization(AuthenticationExtensions.EditorPolicy);
        api.MapPost("/crm-secret", RotateSecret).WithName("RotateCrmSecret")
            .WithSummary("A new CRM webhook secret, stored encrypted (503 without Secrets:EncryptionKey); shown only in this answer").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapPost("/attribution-key", RotateAttributionKey).WithName("RotateAttributionKey")
            .WithSummary("A new attribution key for impressions, conversions and refunds (the old one stops working); shown only in this answer")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record SettingsView(
        string VisitorField, string StorageKey, bool HasCrmSecret, string CrmWebhookPath, string ScriptSnippet, bool HasAttributionKey, bool AttributionKeyRequired);

    /// <summary>AttributionKeyRequired left out keeps what the workspace has (required, unless turned off).</summary>
    public sealed record SettingsRequest(string? VisitorField, string? StorageKey, bool? AttributionKeyRequired = null);

    public sealed record CrmSecret(string Secret);

    public sealed record AttributionKey(string Key, string Header);

    public static async Task<Ok<SettingsView>> Get(ClaimsPrincipal user, HttpRequest http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return TypedResults.Ok(View(await WorkspaceSettings.LoadAsync(connection, user.WorkspaceIdOf()), http));
    }

    public static async Task<Results<Ok<SettingsView>, ValidationProblem, ProblemHttpResult>> Put(
        SettingsRequest request, ClaimsPrincipal user, HttpRequest http, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (!IsFieldLabel(request.VisitorField)) errors["visitor_field"] = [FieldLabelRule];
        if (request.StorageKey is null || !Name().IsMatch(request.StorageKey)) errors["storage_key"] = ["must be 1-64 letters, digits, '_' or '-' (for example _ud)"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        // The attribution key guards endpoints that create money owed: only an owner may drop (or restore) the requirement.
        if (request.AttributionKeyRequired is { } required && user.RoleOf() != Roles.Owner
            && required != (await WorkspaceSettings.LoadAsync(connection, workspace)).AttributionKeyRequired)
        {
            return TypedResults.Problem("attribution_key_required can be changed by an owner only; leave it out to keep it as it is.",
                title: "Owner only", statusCode: StatusCodes.Status403Forbidden);
        }
        await connection.ExecuteAsync("""
            INSERT INTO tracking.workspace_settings AS s (workspace_id, visitor_field, storage_key, attribution_key_required)
            VALUES (@workspace, @VisitorField, @StorageKey, coalesce(@AttributionKeyRequired, true))
            ON CONFLICT (workspace_id) DO UPDATE SET visitor_field = EXCLUDED.visitor_field, storage_key = EXCLUDED.storage_key,
                attribution_key_required = coalesce(@AttributionKeyRequired, s.attribution_key_required), updated_at = now()
            """, new { workspace, request.VisitorField, request.StorageKey, request.AttributionKeyRequired });
        return TypedResults.Ok(View(await WorkspaceSettings.LoadAsync(connection, workspace), http));
    }

    public static async Task<Results<Ok<CrmSecret>, ProblemHttpResult>> RotateSecret(ClaimsPrincipal user, NpgsqlDataSource db, SecretProtector secrets, CancellationToken ct)
    {
        if (!secrets.CanProtect)
        {
            return TypedResults.Problem("Secrets:EncryptionKey is not configured on Tracking.Api: the CRM secret cannot be stored encrypted.",
                title: "Secrets cannot be stored", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        await using var connection = await db.OpenConnectionAsync(ct);
        return TypedResults.Ok(new CrmSecret(await CrmSecrets.RotateAsync(connection, user.WorkspaceIdOf(), secrets)));
    }

    public static async Task<Ok<AttributionKey>> RotateAttributionKey(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var key = AttributionKeys.NewKey();
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync("""
            INSERT INTO tracking.workspace_settings (workspace_id, attribution_key_hash) VALUES (@workspace, @hash)
            ON CONFLICT (workspace_id) DO UPDATE SET attribution_key_hash = EXCLUDED.attribution_key_hash, updated_at = now()
            """, new { workspace = user.WorkspaceIdOf(), hash = AttributionKeys.HashOf(key) });
        return TypedResults.Ok(new AttributionKey(key, AttributionKeys.Header));
    }

    private static SettingsView View(WorkspaceSettings settings, HttpRequest http)
    {
        var origin = $"{http.Scheme}://{http.Host}";
        var snippet = $"""<script async src="{origin}/t.js" data-workspace="{settings.WorkspaceId}" data-storage-key="{settings.StorageKey}"></script>""";
        return new SettingsView(settings.VisitorField, settings.StorageKey, settings.HasCrmSecret,
            $"/api/tracking/webhooks/crm/{settings.WorkspaceId}", snippet, settings.AttributionKeyHash is not null, settings.AttributionKeyRequired);
    }

    public const string FieldLabelRule = "must be the CRM's field name or label, 1-100 characters without control characters or surrounding spaces (for example fid_vid, rstk_vid or Funnels Visitor ID)";

    /// <summary>A CRM field's name or label: GoHighLevel sends custom fields under their labels, spaces included.</summary>
    public static bool IsFieldLabel(string? label) =>
        label is { Length: >= 1 and <= 100 } && label.Trim() == label && !label.Any(char.IsControl);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex Name();
}
