using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Funnels.AppHost.Tests;

/// <summary>A published two-page signup funnel (email form, thank-you page) and a lead posted to it, as a browser posts it.</summary>
public static class SignupFunnel
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Signs in as the first admin through <paramref name="runtime"/>, publishes a fresh funnel; returns its slug.</summary>
    public static async Task<string> PublishAsync(HttpClient runtime, string adminPassword, string name = "Signup")
    {
        var token = await runtime.PostAsJsonAsync("/api/runtime/auth/token", new { email = TopologyFixture.AdminEmail, password = adminPassword }, Cancel);
        token.EnsureSuccessStatusCode();
        using var admin = new HttpClient { BaseAddress = runtime.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", (await token.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("access_token").GetString());
        var slug = name.ToLowerInvariant() + "-" + Guid.NewGuid().ToString("N")[..8];
        var schema = JsonDocument.Parse("""
            { "pages": [ { "id": "form", "kind": "form", "fields": [ { "name": "email", "type": "email", "required": true } ] },
                         { "id": "thanks", "kind": "thank-you" } ],
              "transitions": [ { "from": "form", "on": "FORM_SUBMIT", "to": "thanks" } ] }
            """).RootElement;
        var created = await admin.PostAsJsonAsync("/api/runtime/funnels", new { name, slug, schema }, Cancel);
        created.EnsureSuccessStatusCode();
        var funnel = await created.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        (await admin.PostAsync($"/api/runtime/funnels/{funnel.GetProperty("id").GetGuid()}/publish", null, Cancel)).EnsureSuccessStatusCode();
        return slug;
    }

    /// <summary>The form's submission, anonymous, as the funnel's page posts it.</summary>
    public static Task<HttpResponseMessage> SubmitAsync(HttpClient runtime, string slug, string email) =>
        runtime.PostAsJsonAsync("/api/runtime/events/", new Dictionary<string, object>
        {
            ["publication_slug"] = slug,
            ["event_type"] = "FORM_SUBMIT",
            ["payload"] = new Dictionary<string, object> { ["page_id"] = "form", ["form_data"] = new { email } },
        }, Cancel);
}
