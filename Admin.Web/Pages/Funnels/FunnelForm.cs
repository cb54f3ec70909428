using System.Text.Json;
using Funnels.Admin.Api;

namespace Funnels.Admin.Pages.Funnels;

/// <summary>The create/edit form of a funnel, and the API's field errors mapped back onto it.</summary>
public sealed class FunnelForm
{
    public const string Starter = """
        {
          "pages": [
            { "id": "signup", "kind": "form", "fields": [ { "name": "email", "type": "email", "required": true } ] },
            { "id": "thanks", "kind": "thank-you" }
          ],
          "transitions": [ { "from": "signup", "on": "FORM_SUBMIT", "to": "thanks" } ]
        }
        """;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    // Nullable: model binding turns an empty field into null.
    public string? Name { get; set; }
    public string? Slug { get; set; }
    public string? AllowedOrigins { get; set; }
    public string? Schema { get; set; } = Starter;
    public Dictionary<string, string[]> Errors { get; set; } = [];

    public static FunnelForm From(Funnel funnel) => new()
    {
        Name = funnel.Name,
        Slug = funnel.Slug,
        AllowedOrigins = string.Join('\n', funnel.AllowedOrigins),
        Schema = JsonSerializer.Serialize(funnel.Schema, Indented),
    };

    /// <summary>The request, or null with an error on the schema field when it is not JSON at all.</summary>
    public FunnelRequest? ToRequest()
    {
        JsonElement schema;
        try
        {
            schema = JsonDocument.Parse(Schema ?? "").RootElement;
        }
        catch (JsonException ex)
        {
            Errors["schema"] = [$"is not valid JSON: {ex.Message}"];
            return null;
        }
        var origins = (AllowedOrigins ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return new FunnelRequest(Name ?? "", Slug ?? "", schema, origins);
    }

    public string[] ErrorsFor(string key) => Errors.TryGetValue(key, out var e) ? e : [];

    public string[] ErrorsStartingWith(string prefix) => Errors.Where(e => e.Key.StartsWith(prefix)).SelectMany(e => e.Value).ToArray();

    public IEnumerable<(string Path, string[] Messages)> SchemaErrors =>
        Errors.Where(e => e.Key.StartsWith("schema")).Select(e => (e.Key, e.Value));
}
