using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// A fresh workspace with Tracking.Api clients: its admin, the public (browsers, CRMs), attribution
/// clients (with the workspace's attribution key), and helpers for their requests.
/// </summary>
public sealed class TrackedWorkspace : IDisposable
{
    public static readonly JsonSerializerOptions Json = TestWorkspace.Json;

    private TrackedWorkspace(Hosts hosts, TestWorkspace workspace)
    {
        Hosts = hosts;
        Workspace = workspace;
        Admin = hosts.Tracking.CreateAdminClient(workspace.Id);
        Public = hosts.Tracking.CreateClient();
        Attribution = hosts.Tracking.CreateClient();
    }

    public Hosts Hosts { get; }
    public TestWorkspace Workspace { get; }
    public Guid Id => Workspace.Id;
    public HttpClient Admin { get; }
    public HttpClient Public { get; }
    public string? CrmSecret { get; private set; }

    /// <summary>Tracking.Api as an attribution client configured with the workspace's key.</summary>
    public HttpClient Attribution { get; }
    public string? AttributionKey { get; private set; }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<TrackedWorkspace> CreateAsync(Hosts hosts, string visitorField = "fid_vid")
    {
        var tracked = new TrackedWorkspace(hosts, await TestWorkspace.CreateAsync(hosts));
        var secret = await tracked.Admin.PostAsync("/api/tracking/settings/crm-secret", null, Cancel);
        secret.EnsureSuccessStatusCode();
        tracked.CrmSecret = (await secret.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("secret").GetString();
        (await tracked.Admin.PutAsJsonAsync("/api/tracking/settings", new { visitor_field = visitorField, storage_key = "_ud" }, Json, Cancel)).EnsureSuccessStatusCode();
        var key = await tracked.Admin.PostAsync("/api/tracking/settings/attribution-key", null, Cancel);
        key.EnsureSuccessStatusCode();
        tracked.AttributionKey = (await key.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("key").GetString();
        tracked.Attribution.DefaultRequestHeaders.Add(AttributionKeyHeader, tracked.AttributionKey);
        return tracked;
    }

    public const string AttributionKeyHeader = "X-Funnels-Attribution-Key";

    public static string NewId(string prefix) => $"{prefix}-{Guid.CreateVersion7()}";

    /// <summary>A visitor id as t.js makes it: a UUIDv7 in lower-case hex (anything else is no visitor id).</summary>
    public static string NewVisitorId() => Guid.CreateVersion7().ToString();

    /// <summary>A page view of a session, as t.js posts it.</summary>
    public Task<HttpResponseMessage> PageViewAsync(string visitorId, string sessionId, object? session = null, string url = "https://shop.example/landing") =>
        PostTextAsync("/api/tracking/collect", new
        {
            workspace_id = Id, visitor_id = visitorId, session_id = sessionId, session,
            events = new[] { new { id = NewId("e"), type = "page_view", url, occurred_at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } },
        });

    public Task<HttpResponseMessage> IdentifyAsync(string visitorId, string contactId) =>
        PostTextAsync("/api/tracking/identify", new { workspace_id = Id, visitor_id = visitorId, contact_id = contactId });

    /// <summary>A GoHighLevel-shaped contact webhook, signed with the workspace's secret.</summary>
    public Task<HttpResponseMessage> CrmWebhookAsync(object body, string? signWith = null)
    {
        var json = JsonSerializer.Serialize(body);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{Id}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signWith ?? CrmSecret!), Encoding.UTF8.GetBytes(json)));
        request.Headers.Add("X-Funnels-Signature", "sha256=" + signature);
        return Public.SendAsync(request, Cancel);
    }

    /// <summary>Beacons post JSON as text/plain; the endpoints read it either way.</summary>
    public Task<HttpResponseMessage> PostTextAsync(string path, object body) =>
        Public.PostAsync(path, new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "text/plain"), Cancel);

    /// <summary>What attribution clients post (impressions, conversions), with the workspace's key.</summary>
    public Task<HttpResponseMessage> PostJsonAsync(string path, object body) => Attribution.PostAsJsonAsync(path, body, Json, Cancel);

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);

    public void Dispose()
    {
        Admin.Dispose();
        Public.Dispose();
        Attribution.Dispose();
        Workspace.Dispose();
    }
}
