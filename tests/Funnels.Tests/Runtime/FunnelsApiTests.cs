using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Runtime;

[Collection(ServicesCollection.Name)]
public sealed class FunnelsApiTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Schema_errors_come_back_with_the_path_of_what_is_wrong()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var schema = JsonNode.Parse("""
            {
              "pages": [
                { "id": "a", "kind": "form", "fields": [ { "name": "code", "type": "text", "pattern": "([a-z" } ] },
                { "id": "a", "kind": "offer" },
                { "id": "lonely", "kind": "thank-you" }
              ],
              "transitions": [ { "from": "a", "on": "FORM_SUBMIT", "to": "nowhere" }, { "from": "a", "on": "SWIPE", "to": "a" } ]
            }
            """);

        var result = await (await workspace.Runtime.PostAsJsonAsync("/api/runtime/funnels/validate", schema, Cancel)).Content.ReadFromJsonAsync<JsonElement>(Cancel);

        Assert.False(result.GetProperty("valid").GetBoolean());
        var paths = result.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Contains("pages[1].id", paths);
        Assert.Contains("pages[0].fields[0].pattern", paths);
        Assert.Contains("transitions[0].to", paths);
        Assert.Contains("transitions[1].on", paths);
    }

    [Fact]
    public async Task Unreachable_pages_are_rejected_when_saved_and_nothing_is_stored()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var schema = TestFunnel.ThreeStepSchema();
        schema["pages"]!.AsArray().Add(JsonNode.Parse("""{ "id": "orphan", "kind": "offer" }"""));

        var response = await workspace.Runtime.PostAsJsonAsync("/api/runtime/funnels", new { name = "x", slug = "s-" + Guid.NewGuid().ToString("N")[..10], schema }, TestWorkspace.Json, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errors");
        Assert.Contains("orphan", errors.GetProperty("schema.pages[4]")[0].GetString());
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.funnels WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task Republishing_makes_a_new_version_and_existing_leads_keep_the_one_they_entered_with()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var (v1, v2) = (Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString());
        var lead = (await (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("v1@example.com", plan: "pro", visitorId: v1))).Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("lead_id").GetGuid();

        // Version 2 sends the offer's CLICK to a new page instead of thanks.
        var changed = TestFunnel.ThreeStepSchema();
        changed["pages"]!.AsArray().Add(JsonNode.Parse("""{ "id": "upsell", "kind": "offer" }"""));
        changed["transitions"]!.AsArray().Insert(0, JsonNode.Parse("""{ "from": "offer", "on": "CLICK", "to": "upsell" }"""));
        changed["transitions"]!.AsArray().Add(JsonNode.Parse("""{ "from": "upsell", "on": "CLICK", "to": "thanks" }"""));
        (await workspace.Runtime.PutAsJsonAsync($"/api/runtime/funnels/{funnel.Id}", new { name = "Test funnel", slug = funnel.Slug, schema = changed }, TestWorkspace.Json, Cancel)).EnsureSuccessStatusCode();
        (await workspace.Runtime.PostAsync($"/api/runtime/funnels/{funnel.Id}/publish", null, Cancel)).EnsureSuccessStatusCode();

        var publications = (await workspace.Runtime.GetFromJsonAsync<JsonElement>($"/api/runtime/funnels/{funnel.Id}/publications", Cancel)).EnumerateArray().ToList();
        Assert.Equal([2, 1], publications.Select(p => p.GetProperty("version").GetInt32()));
        Assert.Equal([true, false], publications.Select(p => p.GetProperty("live").GetBoolean()));

        var oldLead = await (await funnel.PostAsync("CLICK", new { page_id = "offer", visitor_id = v1 })).Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var newLead = await (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("v2@example.com", plan: "pro", visitorId: v2))).Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var newClick = await (await funnel.PostAsync("CLICK", new { page_id = "offer", visitor_id = v2 })).Content.ReadFromJsonAsync<JsonElement>(Cancel);

        Assert.Equal("thanks", oldLead.GetProperty("next_page_id").GetString());
        Assert.Equal("upsell", newClick.GetProperty("next_page_id").GetString());
        var stored = await workspace.Runtime.GetFromJsonAsync<JsonElement>($"/api/runtime/leads/{lead}", Cancel);
        Assert.Equal(1, stored.GetProperty("publication_version").GetInt32());
        Assert.NotEqual(lead, newLead.GetProperty("lead_id").GetGuid());
    }

    [Fact]
    public async Task Another_workspace_never_sees_a_lead()
    {
        using var owner = await TestWorkspace.CreateAsync(hosts);
        using var stranger = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(owner);
        var lead = (await (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("private@example.com"))).Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("lead_id").GetGuid();

        Assert.Equal(HttpStatusCode.OK, (await owner.Runtime.GetAsync($"/api/runtime/leads/{lead}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Runtime.GetAsync($"/api/runtime/leads/{lead}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Runtime.GetAsync($"/api/runtime/leads/{lead}/events", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Runtime.GetAsync($"/api/runtime/funnels/{funnel.Id}", Cancel)).StatusCode);
        var search = await stranger.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/leads?email=private@example.com", Cancel);
        Assert.Equal(0, search.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Leads_are_searched_with_paging_and_exported_as_csv()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        foreach (var i in Enumerable.Range(1, 3))
        {
            (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup($"person{i}@example.com", plan: i == 3 ? "pro" : "basic"))).EnsureSuccessStatusCode();
        }

        var page = await workspace.Runtime.GetFromJsonAsync<JsonElement>($"/api/runtime/leads?funnel_id={funnel.Id}&page_size=2&page=2", Cancel);
        var converted = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/leads?status=converted", Cancel);
        var byEmail = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/leads?email=PERSON2@example.com", Cancel);
        var csv = await workspace.Runtime.GetStringAsync($"/api/runtime/funnels/{funnel.Id}/leads.csv", Cancel);

        Assert.Equal(3, page.GetProperty("total").GetInt64());
        Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(2, converted.GetProperty("total").GetInt64()); // basic plans go straight to the thank-you page
        Assert.Equal("person2@example.com", byEmail.GetProperty("items")[0].GetProperty("email").GetString());
        var lines = csv.Trim().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("id,created_at,email,phone,visitor_id,status,current_page_id,", lines[0]);
        Assert.Contains(lines, l => l.Contains("person3@example.com") && l.Contains(",offer,"));
    }

    [Fact]
    public async Task A_viewer_reads_but_cannot_change_funnels_and_an_editor_can()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var viewer = await workspace.MemberAsync("viewer");
        using var editor = await workspace.MemberAsync("editor");
        var body = (string slug) => new { name = "by role", slug, schema = TestFunnel.ThreeStepSchema() };

        var denied = await viewer.PostAsJsonAsync("/api/runtime/funnels", body("viewer-" + Guid.NewGuid().ToString("N")[..8]), TestWorkspace.Json, Cancel);
        var allowed = await editor.PostAsJsonAsync("/api/runtime/funnels", body("editor-" + Guid.NewGuid().ToString("N")[..8]), TestWorkspace.Json, Cancel);
        var listed = await viewer.GetFromJsonAsync<JsonElement>("/api/runtime/funnels", Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        Assert.Equal(1, listed.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Sign_in_refuses_a_wrong_password_and_an_api_key_works_until_revoked()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var anonymous = workspace.Public;

        var wrong = await anonymous.PostAsJsonAsync("/api/runtime/auth/token", new { email = "first-admin@funnels.test", password = "nope" }, Cancel);
        var key = await (await workspace.Runtime.PostAsJsonAsync("/api/runtime/workspaces/current/api-keys", new { name = "ci", role = "viewer" }, Cancel))
            .Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var exchanged = await anonymous.PostAsJsonAsync("/api/runtime/auth/token", new { api_key = key.GetProperty("key").GetString() }, TestWorkspace.Json, Cancel);
        (await workspace.Runtime.DeleteAsync($"/api/runtime/workspaces/current/api-keys/{key.GetProperty("id").GetGuid()}", Cancel)).EnsureSuccessStatusCode();
        var revoked = await anonymous.PostAsJsonAsync("/api/runtime/auth/token", new { api_key = key.GetProperty("key").GetString() }, TestWorkspace.Json, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        var token = await exchanged.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal(workspace.Id, token.GetProperty("workspace_id").GetGuid());
        Assert.Equal("viewer", token.GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
    }
}
