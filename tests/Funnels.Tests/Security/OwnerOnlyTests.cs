using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Tracking;

namespace Funnels.Tests.Security;

/// <summary>What decides where leads go and whether money endpoints need a key is an owner's call, not an editor's.</summary>
[Collection(ServicesCollection.Name)]
public sealed class OwnerOnlyTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_editor_cannot_repoint_a_webhook_at_a_receiver_of_their_own()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var created = await workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = "https://crm.example/hook", events = new[] { "lead.captured" } }, Cancel);
        created.EnsureSuccessStatusCode();
        var hook = (await created.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
        using var editor = hosts.Worker.CreateAdminClient(workspace.Id, "editor");

        var repointed = await editor.PutAsJsonAsync($"/api/messaging/webhooks/{hook}", new { url = "https://attacker.example/leads", events = new[] { "lead.captured" }, active = true }, Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, repointed.StatusCode);
        Assert.Equal("https://crm.example/hook", await hosts.Servers.ScalarAsync<string>("SELECT url FROM messaging.webhook_endpoints WHERE id = @hook", new { hook }));
        var owner = await workspace.Worker.PutAsJsonAsync($"/api/messaging/webhooks/{hook}", new { url = "https://crm.example/hook2", events = new[] { "lead.captured" }, active = true }, Cancel);
        Assert.Equal(HttpStatusCode.OK, owner.StatusCode);
    }

    [Fact]
    public async Task An_editor_cannot_switch_off_the_attribution_key_but_may_change_the_other_settings()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        using var editor = hosts.Tracking.CreateAdminClient(tracked.Id, "editor");

        var off = await editor.PutAsJsonAsync("/api/tracking/settings", new { visitor_field = "rstk_vid", storage_key = "_ud", attribution_key_required = false },
            TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Forbidden, off.StatusCode);
        Assert.Equal("application/problem+json", off.Content.Headers.ContentType?.MediaType);
        Assert.Contains("attribution_key_required", await off.Content.ReadAsStringAsync(Cancel));
        Assert.True(await hosts.Servers.ScalarAsync<bool>("SELECT attribution_key_required FROM tracking.workspace_settings WHERE workspace_id = @Id", new { tracked.Id }));
        Assert.Equal("fid_vid", await hosts.Servers.ScalarAsync<string>("SELECT visitor_field FROM tracking.workspace_settings WHERE workspace_id = @Id", new { tracked.Id }));

        // Sending the value it already has, or leaving it out, is an ordinary settings change.
        Assert.Equal(HttpStatusCode.OK, (await editor.PutAsJsonAsync("/api/tracking/settings",
            new { visitor_field = "rstk_vid", storage_key = "_ud", attribution_key_required = true }, TrackedWorkspace.Json, Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await editor.PutAsJsonAsync("/api/tracking/settings", new { visitor_field = "rstk_vid", storage_key = "_ud" }, TrackedWorkspace.Json, Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.PutAsJsonAsync("/api/tracking/settings",
            new { visitor_field = "rstk_vid", storage_key = "_ud", attribution_key_required = false }, TrackedWorkspace.Json, Cancel)).StatusCode);
        Assert.False(await hosts.Servers.ScalarAsync<bool>("SELECT attribution_key_required FROM tracking.workspace_settings WHERE workspace_id = @Id", new { tracked.Id }));
    }
}
