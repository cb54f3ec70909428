using System.Text.Json;
using Dapper;
using Npgsql;

namespace Funnels.Tracking.Linking.Crm;

/// <summary>One adapter of a workspace, as tracking.crm_adapters keeps it (secrets encrypted, the path token hashed).</summary>
public sealed record CrmAdapterSettings(
    Guid WorkspaceId, string Adapter, string Auth, string? SecretProtected, string? BasicUsername, string? PathTokenHash, string? VisitorField,
    string? PathsJson, DateTime UpdatedAt)
{
    public GenericPaths? Paths => PathsJson is null ? null : JsonSerializer.Deserialize<GenericPaths>(PathsJson);

    /// <summary>The SecretProtector purpose: a ciphertext copied to another workspace or adapter does not decrypt there.</summary>
    public static string Purpose(Guid workspaceId, string adapter) => $"crm:{workspaceId}:{adapter}";

    /// <summary>A GoHighLevel workspace that only ever set the CRM secret: its workflow webhook, signed or with the token.</summary>
    public static CrmAdapterSettings Legacy(Guid workspaceId) =>
        new(workspaceId, CrmAdapters.GoHighLevel, CrmAuth.Legacy, null, null, null, null, null, DateTime.MinValue);

    private const string Columns = "workspace_id, adapter, auth, secret_protected, basic_username, path_token_hash, visitor_field, paths::text AS paths_json, updated_at";

    public static Task<CrmAdapterSettings?> LoadAsync(NpgsqlConnection connection, Guid workspaceId, string adapter) =>
        connection.QuerySingleOrDefaultAsync<CrmAdapterSettings>(
            $"SELECT {Columns} FROM tracking.crm_adapters WHERE workspace_id = @workspaceId AND adapter = @adapter", new { workspaceId, adapter });

    public static Task<CrmAdapterSettings?> ByPathTokenAsync(NpgsqlConnection connection, string adapter, string token) =>
        connection.QuerySingleOrDefaultAsync<CrmAdapterSettings>(
            $"SELECT {Columns} FROM tracking.crm_adapters WHERE path_token_hash = @hash AND adapter = @adapter AND auth = 'path_token'",
            new { hash = CrmAuth.HashOf(token), adapter });

    public static async Task<IReadOnlyList<CrmAdapterSettings>> ListAsync(NpgsqlConnection connection, Guid workspaceId) =>
        (await connection.QueryAsync<CrmAdapterSettings>(
            $"SELECT {Columns} FROM tracking.crm_adapters WHERE workspace_id = @workspaceId ORDER BY adapter", new { workspaceId })).ToList();
}
