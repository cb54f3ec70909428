using System.Text.Json;
using Funnels.Runtime.Workspaces;

namespace Funnels.Runtime.Funnels;

public sealed record FunnelRequest(string? Name, string? Slug, JsonElement? Schema, IReadOnlyList<string>? AllowedOrigins);

public sealed record Funnel(
    Guid Id, string Name, string Slug, JsonElement Schema, IReadOnlyList<string> AllowedOrigins,
    Guid? LivePublicationId, int? LiveVersion, int Revision, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record Publication(Guid Id, Guid FunnelId, string Slug, int Version, DateTime PublishedAt, string PublishedBy, bool Live);

public sealed record SchemaValidation(bool Valid, IReadOnlyList<SchemaError> Errors);

/// <summary>Reads and checks a funnel request; errors are keyed by JSON path, as problem details show them.</summary>
public static class FunnelRequestValidation
{
    public static (FunnelSchema? Schema, Dictionary<string, string[]> Errors) Check(FunnelRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200) errors["name"] = ["is required, at most 200 characters"];
        if (request.Slug is null || !Slugs.IsValid(request.Slug)) errors["slug"] = [Slugs.Rule];
        foreach (var (origin, i) in (request.AllowedOrigins ?? []).Select((o, i) => (o, i)))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/")
            {
                errors[$"allowed_origins[{i}]"] = ["must be an origin such as https://example.com"];
            }
        }
        var (schema, schemaErrors) = ParseSchema(request.Schema);
        foreach (var error in schemaErrors)
        {
            errors[$"schema.{error.Path}".TrimEnd('.')] = [error.Message];
        }
        return (schema, errors);
    }

    public static (FunnelSchema? Schema, IReadOnlyList<SchemaError> Errors) ParseSchema(JsonElement? json)
    {
        if (json is not { ValueKind: JsonValueKind.Object } element)
        {
            return (null, [new SchemaError("", "is required: an object with pages and transitions")]);
        }
        FunnelSchema? schema;
        try
        {
            schema = element.Deserialize<FunnelSchema>(FunnelSchema.Json);
        }
        catch (JsonException ex)
        {
            var path = (ex.Path ?? "$").TrimStart('$').TrimStart('.');
            return (null, [new SchemaError(path, "has the wrong type or an unknown value (page kinds: landing, form, offer, thank-you; field types: text, email, phone, number, checkbox, hidden)")]);
        }
        if (schema is null)
        {
            return (null, [new SchemaError("", "is required")]);
        }
        var errors = FunnelSchemaValidator.Validate(schema);
        return (errors.Count == 0 ? schema : null, errors);
    }

    public static string Normalize(string origin) => origin.TrimEnd('/').ToLowerInvariant();
}
