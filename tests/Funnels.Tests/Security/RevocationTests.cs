extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using static Funnels.Tests.Security.SecurityKit;

namespace Funnels.Tests.Security;

/// <summary>
/// The tester's attacks on revocation: a revoked API key's token kept working (and minted a new
/// owner key), a downgraded member still published, a removed member and a signed-out session kept
/// their tokens. Each must stop within seconds on every service.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class RevocationTests(Hosts hosts)
{
    /// <summary>The cache is 5 s (TokenRevocation.CacheFor); other instances hear of a change through Redis at once.</summary>
    private static readonly TimeSpan WithinSeconds = TimeSpan.FromSeconds(15);

    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_revoked_api_keys_token_is_refused_within_seconds_by_every_service_and_cannot_mint_a_key()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var key = await (await workspace.Runtime.PostAsJsonAsync("/api/runtime/workspaces/current/api-keys", new { name = "ci", role = "owner" }, Cancel))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Cancel);
        using var anonymous = hosts.Runtime.CreateClient();
        var token = await TokenAsync(await SignInAsync(anonymous, new { api_key = key.GetProperty("key").GetString() }));
        using var runtime = WithToken(hosts.Runtime.CreateClient(), token);
        using var tracking = WithToken(hosts.Tracking.CreateClient(), token);
        using var worker = WithToken(hosts.Worker.CreateClient(), token);
        // The key's token mints a child key (no more rights than itself) before the key is revoked.
        var child = await (await runtime.PostAsJsonAsync("/api/runtime/workspaces/current/api-keys", new { name = "child", role = "viewer" }, Cancel))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var childToken = await TokenAsync(await SignInAsync(anonymous, new { api_key = child.GetProperty("key").GetString() }));
        using var childClient = WithToken(hosts.Runtime.CreateClient(), childToken);
        Assert.Equal(HttpStatusCode.OK, (await runtime.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracking.GetAsync("/api/tracking/campaigns", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/api/messaging/flows", Cancel)).StatusCode);

        (await workspace.Runtime.DeleteAsync($"/api/runtime/workspaces/current/api-keys/{key.GetProperty("id").GetGuid()}", Cancel)).EnsureSuccessStatusCode();

        Assert.True(await UntilStatusAsync(() => runtime.GetAsync("/api/runtime/funnels", Cancel), HttpStatusCode.Unauthorized, "Runtime.Api to refuse the revoked key's token") < WithinSeconds);
        Assert.True(await UntilStatusAsync(() => tracking.GetAsync("/api/tracking/campaigns", Cancel), HttpStatusCode.Unauthorized, "Tracking.Api to refuse it") < WithinSeconds);
        Assert.True(await UntilStatusAsync(() => worker.GetAsync("/api/messaging/flows", Cancel), HttpStatusCode.Unauthorized, "Messaging.Worker to refuse it") < WithinSeconds);
        var minted = await runtime.PostAsJsonAsync("/api/runtime/workspaces/current/api-keys", new { name = "persistence", role = "owner" }, Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, minted.StatusCode);
        // What the key minted goes with it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await childClient.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(anonymous, new { api_key = child.GetProperty("key").GetString() })).StatusCode);
    }

    [Fact]
    public async Task A_key_cannot_mint_a_key_with_more_rights_than_itself()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var viewer = hosts.Runtime.CreateAdminClient(workspace.Id, "viewer");

        var refused = await viewer.PostAsJsonAsync("/api/runtime/workspaces/current/api-keys", new { name = "escalate", role = "owner" }, Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_downgraded_members_old_token_cannot_publish()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, email, editorToken) = await MemberAsync(hosts, workspace, "editor");
        using var editor = WithToken(hosts.Runtime.CreateClient(), editorToken);
        var funnel = await (await workspace.Runtime.PostAsJsonAsync("/api/runtime/funnels",
            new { name = "draft", slug = "draft-" + Guid.NewGuid().ToString("N")[..8], schema = TestFunnel.ThreeStepSchema() }, TestWorkspace.Json, Cancel))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal(HttpStatusCode.OK, (await editor.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);

        (await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email, role = "viewer" }, Cancel)).EnsureSuccessStatusCode();
        var published = await editor.PostAsync($"/api/runtime/funnels/{funnel.GetProperty("id").GetGuid()}/publish", null, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, published.StatusCode);
        var publications = await workspace.Runtime.GetFromJsonAsync<JsonElement>($"/api/runtime/funnels/{funnel.GetProperty("id").GetGuid()}/publications", Cancel);
        Assert.Equal(0, publications.GetArrayLength());
    }

    [Fact]
    public async Task A_removed_members_token_is_refused_by_every_service()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (userId, _, token) = await MemberAsync(hosts, workspace, "editor");
        using var runtime = WithToken(hosts.Runtime.CreateClient(), token);
        using var tracking = WithToken(hosts.Tracking.CreateClient(), token);
        Assert.Equal(HttpStatusCode.OK, (await tracking.GetAsync("/api/tracking/campaigns", Cancel)).StatusCode);

        var removed = await workspace.Runtime.DeleteAsync($"/api/runtime/workspaces/current/members/{userId}", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await runtime.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);
        Assert.True(await UntilStatusAsync(() => tracking.GetAsync("/api/tracking/campaigns", Cancel), HttpStatusCode.Unauthorized, "Tracking.Api to refuse it") < WithinSeconds);
    }

    [Fact]
    public async Task Signing_out_revokes_the_session_and_every_token_of_it()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, email, token) = await MemberAsync(hosts, workspace, "viewer");
        using var runtime = WithToken(hosts.Runtime.CreateClient(), token);
        using var worker = WithToken(hosts.Worker.CreateClient(), token);
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/api/messaging/flows", Cancel)).StatusCode);

        var signedOut = await runtime.PostAsync("/api/runtime/auth/sign-out", null, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await runtime.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);
        Assert.True(await UntilStatusAsync(() => worker.GetAsync("/api/messaging/flows", Cancel), HttpStatusCode.Unauthorized, "Messaging.Worker to refuse it") < WithinSeconds);
        // Another sign-in of the same person is a new session and works.
        using var anonymous = hosts.Runtime.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(anonymous, new { email, password = Password })).StatusCode);
    }

    [Fact]
    public async Task When_the_revocation_check_cannot_reach_the_database_the_answer_is_503_never_500_nor_open()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        await using var unreachable = NpgsqlDataSource.Create("Host=127.0.0.1;Port=9;Timeout=2;Pooling=false;Username=x;Password=x");
        await using var tracking = new ServiceHost<tracking::Program>(hosts.Servers, services: s =>
            s.AddSingleton(sp => new TokenRevocation(unreachable, sp.GetRequiredService<ILogger<TokenRevocation>>())));
        using var client = tracking.CreateClient();
        WithToken(client, hosts.Runtime.IssueAdminToken(workspace.Id, "owner"));

        using var response = await client.GetAsync("/api/tracking/campaigns", Cancel);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task Another_instance_forgets_its_kept_answers_as_soon_as_a_change_is_announced_not_after_its_ttl()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, _, token) = await MemberAsync(hosts, workspace, "viewer");
        var claims = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().ReadJsonWebToken(token).Claims;
        var shape = TokenShape.Read(new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(claims)))!;
        var tracking = hosts.Tracking.Get<TokenRevocation>();
        Assert.True(await tracking.IsCurrentAsync(shape, Cancel));
        var kept = System.Diagnostics.Stopwatch.StartNew();

        // The session ends behind Tracking.Api's back; only the announcement can make it look again before its TTL.
        await hosts.Servers.ScalarAsync<int>("UPDATE runtime.sessions SET revoked_at = now() WHERE id = @id RETURNING 1", new { id = shape.SessionId });
        await hosts.Runtime.Get<TokenRevocation>().ChangedAsync(hosts.Runtime.Get<StackExchange.Redis.IConnectionMultiplexer>());
        await Eventually.Until(async () => await tracking.IsCurrentAsync(shape, Cancel) ? null : (bool?)true, TimeSpan.FromSeconds(60),
            "Tracking.Api to hear of the change");

        Assert.True(kept.Elapsed < TokenRevocation.CacheFor, $"took {kept.Elapsed.TotalSeconds:0.0} s: the TTL ran out before the announcement arrived");
    }
}
