using System.Text.Json;
using Refit;

namespace Funnels.Admin.Api;

/// <summary>Reads a problem-details answer from an API into field errors a form can show next to its inputs.</summary>
public static class ApiProblem
{
    public static Dictionary<string, string[]> FieldErrors(ApiExceptionBase? error)
    {
        // Refit reads a problem-details answer itself and keeps its field errors.
        if (error is ValidationApiException { Content: { } validation })
        {
            return validation.Errors is { Count: > 0 } fields
                ? fields.ToDictionary(e => e.Key, e => e.Value)
                : new() { [""] = [validation.Detail ?? validation.Title ?? "The request failed."] };
        }
        // A validation failure comes back as ApiException with the problem body as its content.
        if ((error as ApiException)?.Content is not { Length: > 0 } content)
        {
            return new() { [""] = [error?.Message ?? "The request failed."] };
        }
        try
        {
            var problem = JsonDocument.Parse(content).RootElement;
            if (problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                return errors.EnumerateObject().ToDictionary(e => e.Name, e => e.Value.EnumerateArray().Select(v => v.GetString() ?? "").ToArray());
            }
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : problem.TryGetProperty("title", out var t) ? t.GetString() : null;
            return new() { [""] = [detail ?? "The request failed."] };
        }
        catch (JsonException)
        {
            return new() { [""] = [content] };
        }
    }
}
