extern alias runtime;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Tracking.Api's public endpoints accept only workspaces Runtime.Api announced (WorkspaceCreated); any other id is a 404 that writes nothing.</summary>
[Collection(ServicesCollection.Name)]
public sealed class KnownWorkspaceTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Public_endpoints_answer_404_for_a_workspace_nobody_created_and_write_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var unknown = Guid.CreateVersion7();
        var visitor = TrackedWorkspace.NewVisitorId();

        var collect = await tracked.PostTextAsync("/api/tracking/collect", new
        {
            workspace_id = unknown, visitor_id = visitor, session_id = TrackedWorkspace.NewId("s"),
            events = new[] { new { id = "e1", type = "page_view", url = "https://shop.example/" } },
        });
        var identify = await tracked.PostTextAsync("/api/tracking/identify", new { workspace_id = unknown, visitor_id = visitor, contact_id = "c1" });
        // Signed with a real workspace's secret: the id in the path is still nobody's.
        var json = JsonSerializer.Serialize(new { contact_id = "c1", fid_vid = visitor });
        using var crm = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{unknown}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        crm.Headers.Add("X-Funnels-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(tracked.CrmSecret!), Encoding.UTF8.GetBytes(json))));
        var webhook = await tracked.Public.SendAsync(crm, Cancel);

        foreach (var response in new[] { collect, identify, webhook })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("Unknown workspace", (await TrackedWorkspace.BodyAsync(response)).GetProperty("title").GetString());
        }
        Assert.Equal(0, await hosts.Servers.CountAsync("""
            SELECT (SELECT count(*) FROM tracking.sessions WHERE workspace_id = @unknown) + (SELECT count(*) FROM tracking.events WHERE workspace_id = @unknown)
                 + (SELECT count(*) FROM tracking.contacts WHERE workspace_id = @unknown) + (SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @unknown)
            """, new { unknown }));

        // The same requests for the workspace Runtime.Api created are accepted.
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await tracked.IdentifyAsync(visitor, "c1")).StatusCode);
    }

    [Fact]
    public async Task Workspaces_never_announced_are_announced_when_runtime_starts_the_default_one_included()
    {
        // The default workspace comes from configuration at Runtime.Api's start.
        await TestWorkspace.KnownToTrackingAsync(hosts, WorkspaceClaims.OperatorWorkspaceId);

        // A workspace from before WorkspaceCreated existed: in Runtime.Api's table, never announced.
        var old = Guid.CreateVersion7();
        await hosts.Servers.CountAsync("INSERT INTO runtime.workspaces (id, slug, name) VALUES (@old, @slug, 'Old') RETURNING 1",
            new { old, slug = "old-" + old.ToString("N")[..12] });
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.workspaces WHERE id = @old", new { old }));

        await using (var restarted = new ServiceHost<runtime::Program>(hosts.Servers))
        {
            restarted.StartServer();
            await TestWorkspace.KnownToTrackingAsync(hosts, old);
        }
        Assert.NotNull(await hosts.Servers.ScalarAsync<DateTime?>("SELECT announced_at FROM runtime.workspaces WHERE id = @old", new { old }));
        Assert.Equal("Old", await hosts.Servers.ScalarAsync<string>("SELECT name FROM tracking.workspaces WHERE id = @old", new { old }));
    }
}
