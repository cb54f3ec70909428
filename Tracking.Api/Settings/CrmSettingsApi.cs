using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.Tracking.Linking.Crm;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Funnels.Tracking.Settings;

/// <summary>
/// A workspace's CRM adapters (docs/crm-webhooks.md): which CRMs post contacts, how each
/// authenticates, where its visitor id is. Owners configure them; a generated secret or URL
/// token is shown only in the answer that made it. Secrets are stored encrypted (SecretProtector).
/// </summary>
public static class CrmSettingsApi
{
    public static void MapCrmSettingsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tracking/settings/crm").WithTags("Tracking settings");
        api.MapGet("/", List).WithName("ListCrmAdapters")
            .WithSummary("The CRM adapters, their authentication options and this workspace's configuration of each (no secrets)")
            .RequireAuthorization(AuthenticationExtensions.AdminPolicy);
        api.MapPut("/{adapter}", Put).WithName("PutCrmAdapter")
            .WithSummary("Configure a CRM adapter: authentication, visitor field, JSON paths (generic); a generated secret or URL token is shown only here")
            .RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
        api.MapDelete("/{adapter}", Delete).WithName("DeleteCrmAdapter")
            .WithSummary("Stop accepting the adapter's deliveries").RequireAuthorization(AuthenticationExtensions.OwnerPolicy);
    }

    public sealed record AdapterView(
        string Adapter, string Title, IReadOnlyList<string> AuthModes, bool Configured, string? Auth, string? Username, string? VisitorField,
        GenericPaths? Paths, string? Address, DateTime? UpdatedAt);

    public sealed record AdapterRequest(string? Auth, string? Secret, string? Username, string? VisitorField, GenericPaths? Paths);

    /// <summary>Secret and Address carry the generated secret and the URL (with its token) once; Headers says what the CRM must send.</summary>
    public sealed record AdapterConfigured(string Adapter, string Auth, string Address, string? Secret, string? Username, string? VisitorField, GenericPaths? Paths, string Sends);

    public static async Task<Ok<IReadOnlyList<AdapterView>>> List(ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        var workspace = user.WorkspaceIdOf();
        await using var connection = await db.OpenConnectionAsync(ct);
        var configured = (await CrmAdapterSettings.ListAsync(connection, workspace)).ToDictionary(a => a.Adapter);
        IReadOnlyList<AdapterView> views = CrmAdapters.All.Select(adapter => configured.TryGetValue(adapter, out var a)
            ? new AdapterView(adapter, CrmAdapters.Title(adapter), CrmAdapters.AuthModes(adapter), true, a.Auth, a.BasicUsername, a.VisitorField, a.Paths,
                a.Auth == CrmAuth.PathToken ? null : Address(adapter, workspace.ToString()), a.UpdatedAt)
            : new AdapterView(adapter, CrmAdapters.Title(adapter), CrmAdapters.AuthModes(adapter), false, null, null, null, null, null, null)).ToList();
        return TypedResults.Ok(views);
    }

    public static async Task<Results<Ok<AdapterConfigured>, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult>> Put(
        string adapter, AdapterRequest request, ClaimsPrincipal user, NpgsqlDataSource db, SecretProtector secrets, CancellationToken ct)
    {
        if (!CrmAdapters.All.Contains(adapter))
        {
            return TypedResults.NotFound(new ProblemDetails { Title = "Unknown CRM adapter", Detail = $"Use one of {string.Join(", ", CrmAdapters.All)}.", Status = 404 });
        }
        var errors = new Dictionary<string, string[]>();
        var modes = CrmAdapters.AuthModes(adapter);
        if (request.Auth is null || !modes.Contains(request.Auth)) errors["auth"] = [$"must be one of {string.Join(", ", modes)} for the {adapter} adapter"];
        if (request.Secret is not null && (request.Secret.Length is < 16 or > 256 || request.Secret.Any(char.IsControl)))
        {
            errors["secret"] = ["must be 16-256 characters without control characters (leave it out to have one generated)"];
        }
        if (request.Auth == CrmAuth.HubSpotV3 && request.Secret is null) errors["secret"] = ["is required: the HubSpot app's client secret, which HubSpot signs deliveries with"];
        if (request.Auth == CrmAuth.Basic && (request.Username is not { Length: >= 1 and <= 100 } || request.Username.Contains(':') || request.Username.Any(char.IsControl)))
        {
            errors["username"] = ["is required for basic auth: 1-100 characters without ':' (the user name set in the CRM's webhook)"];
        }
        if (request.VisitorField is not null && !SettingsApi.IsFieldLabel(request.VisitorField)) errors["visitor_field"] = [SettingsApi.FieldLabelRule];
        if (adapter == CrmAdapters.Generic)
        {
            foreach (var (field, messages) in (request.Paths ?? new GenericPaths(null, null, null, null)).Check()) errors[field] = messages;
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        if (!secrets.CanProtect)
        {
            return TypedResults.Problem("Secrets:EncryptionKey is not configured on Tracking.Api: CRM secrets cannot be stored encrypted.",
                title: "Secrets cannot be stored", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var workspace = user.WorkspaceIdOf();
        var generated = request.Auth is CrmAuth.Hmac or CrmAuth.Token or CrmAuth.Basic && request.Secret is null ? CrmAuth.NewSecret() : null;
        var secret = request.Auth == CrmAuth.PathToken ? null : request.Secret ?? generated;
        var pathToken = request.Auth == CrmAuth.PathToken ? CrmAuth.NewPathToken() : null;
        var paths = adapter == CrmAdapters.Generic ? request.Paths : null;
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync("""
            INSERT INTO tracking.crm_adapters (workspace_id, adapter, auth, secret_protected, basic_username, path_token_hash, visitor_field, paths, updated_at)
            VALUES (@workspace, @adapter, @Auth, @secretProtected, @username, @pathTokenHash, @VisitorField, @paths::jsonb, now())
            ON CONFLICT (workspace_id, adapter) DO UPDATE SET auth = EXCLUDED.auth, secret_protected = EXCLUDED.secret_protected,
                basic_username = EXCLUDED.basic_username, path_token_hash = EXCLUDED.path_token_hash, visitor_field = EXCLUDED.visitor_field,
                paths = EXCLUDED.paths, updated_at = now()
            """, new
        {
            workspace, adapter, request.Auth, request.VisitorField,
            secretProtected = secret is null ? null : secrets.Protect(secret, CrmAdapterSettings.Purpose(workspace, adapter)),
            username = request.Auth == CrmAuth.Basic ? request.Username : null,
            pathTokenHash = pathToken is null ? null : CrmAuth.HashOf(pathToken),
            paths = paths is null ? null : JsonSerializer.Serialize(paths),
        });
        return TypedResults.Ok(new AdapterConfigured(adapter, request.Auth!, Address(adapter, pathToken ?? workspace.ToString()),
            generated, request.Auth == CrmAuth.Basic ? request.Username : null, request.VisitorField, paths, Sends(request.Auth!)));
    }

    public static async Task<NoContent> Delete(string adapter, ClaimsPrincipal user, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await connection.ExecuteAsync("DELETE FROM tracking.crm_adapters WHERE workspace_id = @workspace AND adapter = @adapter",
            new { workspace = user.WorkspaceIdOf(), adapter });
        return TypedResults.NoContent();
    }

    public static string Address(string adapter, string key) => $"/api/tracking/crm/{adapter}/{key}";

    private static string Sends(string auth) => auth switch
    {
        CrmAuth.Hmac => $"{CrmAuth.SignatureHeader}: sha256=<hex HMAC-SHA256 of the body with the secret>",
        CrmAuth.Token => $"{CrmAuth.TokenHeader}: <secret>",
        CrmAuth.Basic => "Authorization: Basic <base64 of username:secret>",
        CrmAuth.HubSpotV3 => $"{CrmAuth.HubSpotSignatureHeader} and {CrmAuth.HubSpotTimestampHeader} (HubSpot signs with the app's client secret)",
        _ => "nothing: the token in the address authenticates (keep the address secret)",
    };
}
