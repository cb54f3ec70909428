extern alias runtime;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// A fresh workspace per test, made through the real sign-in flow: the first admin signs in,
/// creates the workspace and switches to it, and Tracking.Api has heard of it (WorkspaceCreated).
/// Its rows are invisible to every other test.
/// </summary>
public sealed class TestWorkspace : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly Hosts _hosts;

    private TestWorkspace(Hosts hosts, Guid id, string token)
    {
        _hosts = hosts;
        Id = id;
        Runtime = Authorized(hosts.Runtime.CreateClient(), token);
        Worker = Authorized(hosts.Worker.CreateClient(), token);
    }

    public Guid Id { get; }

    /// <summary>Runtime.Api as the workspace's owner.</summary>
    public HttpClient Runtime { get; }

    /// <summary>Messaging.Worker as the workspace's owner.</summary>
    public HttpClient Worker { get; }

    /// <summary>Anonymous Runtime.Api, as a browser posting public events.</summary>
    public HttpClient Public => _hosts.Runtime.CreateClient();

    public static async Task<TestWorkspace> CreateAsync(Hosts hosts)
    {
        var cancel = TestContext.Current.CancellationToken;
        using var client = hosts.Runtime.CreateClient();
        var first = await TokenAsync(client, new { email = ServiceHost<runtime::Program>.AdminEmail, password = ServiceHost<runtime::Program>.AdminPassword });
        Authorized(client, first);
        var created = await client.PostAsJsonAsync("/api/runtime/workspaces", new { name = "Test", slug = "t-" + Guid.NewGuid().ToString("N")[..12] }, cancel);
        created.EnsureSuccessStatusCode();
        var workspace = (await created.Content.ReadFromJsonAsync<JsonElement>(cancel)).GetProperty("id").GetGuid();
        var switched = await client.PostAsJsonAsync("/api/runtime/auth/switch", new { workspace_id = workspace }, Json, cancel);
        switched.EnsureSuccessStatusCode();
        var token = (await switched.Content.ReadFromJsonAsync<JsonElement>(cancel)).GetProperty("access_token").GetString()!;
        await KnownToTrackingAsync(hosts, workspace);
        return new TestWorkspace(hosts, workspace, token);
    }

    /// <summary>
    /// Tracking.Api learns of a workspace from Runtime.Api's WorkspaceCreated, a moment after it
    /// was created; its public endpoints answer 404 until then. Tests start once it knows.
    /// </summary>
    public static async Task KnownToTrackingAsync(Hosts hosts, Guid workspace)
    {
        hosts.Tracking.StartServer();
        await Eventually.Until(() => hosts.Servers.ScalarAsync<string>("SELECT slug FROM tracking.workspaces WHERE id = @workspace", new { workspace }),
            TimeSpan.FromSeconds(60), $"Tracking.Api to know workspace {workspace}");
    }

    /// <summary>Adds an admin with the given role and returns Runtime.Api signed in as them.</summary>
    public async Task<HttpClient> MemberAsync(string role)
    {
        var cancel = TestContext.Current.CancellationToken;
        var email = $"{role}-{Guid.NewGuid():N}@funnels.test";
        const string password = "member-password-0123";
        var invited = await Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email, role, password }, cancel);
        invited.EnsureSuccessStatusCode();
        // A new account joins when it accepts: signing in with the invitation's id does that.
        var invitation = (await invited.Content.ReadFromJsonAsync<JsonElement>(cancel)).GetProperty("id").GetGuid();
        var client = _hosts.Runtime.CreateClient();
        return Authorized(client, await TokenAsync(client, new { email, password, invitation_id = invitation }));
    }

    private static async Task<string> TokenAsync(HttpClient client, object credentials)
    {
        var response = await client.PostAsJsonAsync("/api/runtime/auth/token", credentials, Json, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("access_token").GetString()!;
    }

    private static HttpClient Authorized(HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public void Dispose()
    {
        Runtime.Dispose();
        Worker.Dispose();
    }
}
