using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Funnels.Tests.Infrastructure;

/// <summary>A published funnel in a test workspace, and the public events posted to it.</summary>
public sealed class TestFunnel(TestWorkspace workspace, Guid id, string slug)
{
    public Guid Id { get; } = id;
    public string Slug { get; } = slug;

    /// <summary>landing -(CLICK)-> signup -(FORM_SUBMIT, plan = pro)-> offer -(CLICK)-> thanks; signup -(FORM_SUBMIT)-> thanks.</summary>
    public static JsonObject ThreeStepSchema() => JsonNode.Parse("""
        {
          "start_page_id": "landing",
          "honeypot_field": "website",
          "pages": [
            { "id": "landing", "kind": "landing" },
            { "id": "signup", "kind": "form", "fields": [
                { "name": "email", "type": "email", "required": true },
                { "name": "name", "type": "text", "max_length": 20 },
                { "name": "phone", "type": "phone" },
                { "name": "plan", "type": "text", "pattern": "^(basic|pro)$" },
                { "name": "accept", "type": "checkbox", "required": true }
            ] },
            { "id": "offer", "kind": "offer" },
            { "id": "thanks", "kind": "thank-you" }
          ],
          "transitions": [
            { "from": "landing", "on": "CLICK", "to": "signup" },
            { "from": "signup", "on": "FORM_SUBMIT", "to": "offer", "when": { "field": "plan", "equals": "pro" } },
            { "from": "signup", "on": "FORM_SUBMIT", "to": "thanks" },
            { "from": "offer", "on": "CLICK", "to": "thanks" }
          ]
        }
        """)!.AsObject();

    public static async Task<TestFunnel> PublishAsync(TestWorkspace workspace, JsonObject? schema = null, string[]? allowedOrigins = null)
    {
        var cancel = TestContext.Current.CancellationToken;
        var slug = "f-" + Guid.NewGuid().ToString("N")[..12];
        var created = await workspace.Runtime.PostAsJsonAsync("/api/runtime/funnels",
            new { name = "Test funnel", slug, schema = schema ?? ThreeStepSchema(), allowed_origins = allowedOrigins ?? [] }, TestWorkspace.Json, cancel);
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(cancel)).GetProperty("id").GetGuid();
        (await workspace.Runtime.PostAsync($"/api/runtime/funnels/{id}/publish", null, cancel)).EnsureSuccessStatusCode();
        return new TestFunnel(workspace, id, slug);
    }

    public static object Signup(string email, string plan = "basic", string? visitorId = null) => new
    {
        page_id = "signup",
        form_data = new Dictionary<string, object> { ["email"] = email, ["name"] = "Ana", ["plan"] = plan, ["accept"] = true },
        visitor_id = visitorId,
    };

    public Task<HttpResponseMessage> PostAsync(string eventType, object payload, string? idempotencyKey = null, string path = "/api/runtime/events/") =>
        PostRawAsync(JsonSerializer.Serialize(new { publication_slug = Slug, event_type = eventType, payload }, TestWorkspace.Json), idempotencyKey, path);

    public async Task<HttpResponseMessage> PostRawAsync(string body, string? idempotencyKey = null, string path = "/api/runtime/events/")
    {
        using var client = workspace.Public;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
