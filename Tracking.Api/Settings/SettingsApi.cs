using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>The workspace's tracking settings: the CRM webhook secret, the visitor field name, the storage key t.js watches.</summary>
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
            .WithSummary("A new CRM webhook secret; shown only in this answer").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record SettingsView(string VisitorField, string StorageKey, bool HasCrmSecret, string CrmWebhookPath, string ScriptSnippet);

    public sealed record SettingsRequest(string? VisitorField, string? StorageKey);

    public sealed record CrmSecret(string Secret);

    public static async Task<Ok<SettingsView>> Get(ClaimsPrincipal user, HttpRequest http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        return TypedResults.Ok(View(await WorkspaceSettings.LoadAsync(connection, user.WorkspaceIdOf()), http));
    }

    public static async Task<Results<Ok<SettingsView>, ValidationProblem>> Put(
        SettingsRequest request, ClaimsPrincipal user, HttpRequest http, NpgsqlDataSource db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.VisitorField is null || !Name().IsMatch(request.VisitorField)) errors["visitor_field"] = ["must be 1-64 letters, digits, '_' or '-' (for example fid_vid or rstk_vid)"];
        if (request.StorageKey is null || !Name().IsMatch(request.StorageKey)) errors["storage_key"] = ["must be 1-64 letters, digits, '_' or '-' (for example _ud)"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        await using var connection = await db.OpenConnectionAsync(ct);
        var workspace = user.WorkspaceIdOf();
        await connection.ExecuteAsync("""
            INSERT INTO tracking.workspace_settings (workspace_id, visitor_field, storage_key) VALUES (@workspace, @VisitorField, @StorageKey)
            ON CONFLICT (workspace_id) DO UPDATE SET visitor_field = EXCLUDED.visitor_field, storage_key = EXCLUDED.storage_key, updated_at = now()
            """, new { workspace, request.VisitorField, request.StorageKey });
        return TypedResults.Ok(View(await WorkspaceSettings.LoadAsync(connection, workspace), http));
    }

    public static async Task<Ok<CrmSecret>> RotateSecret(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var secret = "crm_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync("""
            INSERT INTO tracking.workspace_settings (workspace_id, crm_secret) VALUES (@workspace, @secret)
            ON CONFLICT (workspace_id) DO UPDATE SET crm_secret = EXCLUDED.crm_secret, updated_at = now()
            """, new { workspace = user.WorkspaceIdOf(), secret });
        return TypedResults.Ok(new CrmSecret(secret));
    }

    private static SettingsView View(WorkspaceSettings settings, HttpRequest http)
    {
        var origin = $"{http.Scheme}://{http.Host}";
        var snippet = $"""<script async src="{origin}/t.js" data-workspace="{settings.WorkspaceId}" data-storage-key="{settings.StorageKey}"></script>""";
        return new SettingsView(settings.VisitorField, settings.StorageKey, settings.CrmSecret is not null,
            $"/api/tracking/webhooks/crm/{settings.WorkspaceId}", snippet);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex Name();
}
