using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Tracking;

namespace Funnels.Tests.Security;

/// <summary>
/// Every operation of the three OpenAPI documents, called with no token, with each role of the
/// right workspace, as the operator, and as an owner of another workspace, answers as the role
/// table in docs/security/roles.md says: 401 without a token, 403 below the row's role, and
/// neither (nor a 5xx) at or above it; another workspace's ids are 404 and change nothing.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed partial class RoleTableTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static readonly string[] WorkspaceRoles = [Roles.Viewer, Roles.Editor, Roles.Owner];

    [Fact]
    public async Task The_role_table_lists_every_operation_of_the_three_apis_and_nothing_else()
    {
        var rows = RoleRow.Load().Select(r => r.Key).ToHashSet();
        var operations = await OperationsAsync();

        var unlisted = operations.Where(o => !rows.Contains(o.Key)).Select(o => $"| {o.Service} | {o.Method} | `{o.Path}` | ? | |").ToList();
        var gone = rows.Where(r => !operations.Any(o => o.Key == r)).ToList();
        Assert.True(unlisted.Count == 0, $"operations missing from {RoleRow.DocumentPath}:\n{string.Join("\n", unlisted)}");
        Assert.True(gone.Count == 0, $"rows of {RoleRow.DocumentPath} that no API has: {string.Join("; ", gone)}");
    }

    [Fact]
    public async Task Every_admin_operation_answers_each_role_as_the_table_says()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var wrong = new List<string>();
        foreach (var row in RoleRow.Load().Where(r => r.Role != "public"))
        {
            // Ids nobody has: what is checked here is the role, before any row is looked up.
            var path = Fill(row.Path, _ => null);
            await ExpectAsync(row, path, null, status => status == 401, "401", wrong);
            foreach (var role in WorkspaceRoles)
            {
                if (row.Allows(role))
                {
                    await ExpectAsync(row, path, (workspace.Id, role), Permitted, "neither 401 nor 403 nor 5xx", wrong);
                }
                else
                {
                    await ExpectAsync(row, path, (workspace.Id, role), status => status == 403, "403", wrong);
                }
            }
            await ExpectAsync(row, path, (WorkspaceClaims.OperatorWorkspaceId, Roles.Owner), Permitted, "neither 401 nor 403 nor 5xx", wrong);
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} answers differ from {RoleRow.DocumentPath}:\n{string.Join("\n", wrong)}");
    }

    [Fact]
    public async Task An_owner_of_another_workspace_gets_404_for_every_operation_on_this_workspaces_ids_and_changes_nothing()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var ids = await ResourcesAsync(tracked);
        using var other = await TestWorkspace.CreateAsync(hosts);
        var wrong = new List<string>();
        var walked = 0;
        foreach (var row in RoleRow.Load().Where(r => r.Role is not ("public" or "operator")))
        {
            if (Fill(row.Path, name => ids.Of(row.Path, name)) is not { } path || path == row.Path || ids.Of(row.Path, "id") is null) continue;
            walked++;
            await ExpectAsync(row, path, (other.Id, Roles.Owner), status => status is 404, "404", wrong);
        }
        Assert.True(wrong.Count == 0, $"another workspace's owner was answered otherwise:\n{string.Join("\n", wrong)}");
        Assert.True(walked >= 10, $"only {walked} operations addressed a resource of the workspace");
        await ids.AssertUnchangedAsync(hosts, tracked);
    }

    private static bool Permitted(int status) => status is not (401 or 403) && status < 500;

    private async Task ExpectAsync(RoleRow row, string path, (Guid Workspace, string Role)? caller, Func<int, bool> expected, string what, List<string> wrong)
    {
        var host = Host(row.Service);
        // A client (and so a token) per call: an operation such as signing out ends only its own caller's session.
        using var client = caller is { } c ? host.Admin(c.Workspace, c.Role) : host.Anonymous();
        using var request = new HttpRequestMessage(new HttpMethod(row.Method), path);
        if (row.Method is "POST" or "PUT" or "PATCH") request.Content = new StringContent(Body(row, caller?.Workspace), Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request, Cancel);
        var status = (int)response.StatusCode;
        if (!expected(status))
        {
            var who = caller is { } k ? $"{k.Role} of {(k.Workspace == WorkspaceClaims.OperatorWorkspaceId ? "the operator workspace" : k.Workspace)}" : "no token";
            wrong.Add($"  {row.Key} ({row.Role}) as {who}: {status}, expected {what}");
        }
    }

    /// <summary>
    /// A body the operation accepts where a body would otherwise be refused before anything is looked
    /// up (so the answer shows whose resource it is); an empty object elsewhere.
    /// </summary>
    private static string Body(RoleRow row, Guid? callerWorkspace) => row.Key switch
    {
        "runtime-api POST /api/runtime/auth/switch" => JsonSerializer.Serialize(new { workspace_id = callerWorkspace }),
        "runtime-api PUT /api/runtime/funnels/{id}" => JsonSerializer.Serialize(new
        {
            name = "Walked", slug = "walked-" + Guid.NewGuid().ToString("N")[..10], schema = TestFunnel.ThreeStepSchema(),
        }),
        "tracking-api POST /api/tracking/campaigns/{id}/rules" => """{"kind": "per_click", "amount": 1}""",
        "messaging-worker PUT /api/messaging/flows/{id}" =>
            """{"name": "Walked", "status": "draft", "triggers": [], "definition": {"start": "a", "nodes": {"a": {"type": "end"}}}}""",
        "messaging-worker POST /api/messaging/flows/{id}/test-send" => """{"to": "+573001112233"}""",
        "messaging-worker PUT /api/messaging/webhooks/{id}" => """{"url": "https://attacker.example/leads", "events": ["lead.captured"], "active": true}""",
        _ => "{}",
    };

    private (Func<HttpClient> Anonymous, Func<Guid, string, HttpClient> Admin) Host(string service) => service switch
    {
        "runtime-api" => (() => hosts.Runtime.CreateClient(), (w, r) => hosts.Runtime.CreateAdminClient(w, r)),
        "tracking-api" => (() => hosts.Tracking.CreateClient(), (w, r) => hosts.Tracking.CreateAdminClient(w, r)),
        "messaging-worker" => (() => hosts.Worker.CreateClient(), (w, r) => hosts.Worker.CreateAdminClient(w, r)),
        _ => throw new ArgumentOutOfRangeException(nameof(service)),
    };

    private async Task<List<RoleRow>> OperationsAsync()
    {
        var operations = new List<RoleRow>();
        foreach (var service in new[] { "runtime-api", "tracking-api", "messaging-worker" })
        {
            using var client = Host(service).Anonymous();
            var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Cancel);
            foreach (var path in document.GetProperty("paths").EnumerateObject())
            {
                foreach (var method in path.Value.EnumerateObject().Where(m => m.Name is "get" or "post" or "put" or "patch" or "delete"))
                {
                    operations.Add(new RoleRow(service, method.Name.ToUpperInvariant(), path.Name, "?"));
                }
            }
        }
        return operations;
    }

    /// <summary>The path with each {parameter} replaced: by the given value, or one that names nothing.</summary>
    private static string Fill(string path, Func<string, string?> value) =>
        Parameter().Replace(path, m => Uri.EscapeDataString(value(m.Groups["name"].Value) ?? Unknown(m.Groups["name"].Value)));

    private static string Unknown(string name) => name.Contains("phone", StringComparison.OrdinalIgnoreCase)
        ? "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999)
        : Guid.NewGuid().ToString();

    [GeneratedRegex(@"\{(?<name>[A-Za-z_]+)[^}]*\}")]
    private static partial Regex Parameter();

    /// <summary>One of each resource a path can address, in a workspace the walk must not touch.</summary>
    private async Task<WorkspaceResources> ResourcesAsync(TrackedWorkspace tracked)
    {
        var workspace = tracked.Workspace;
        var funnel = await TestFunnel.PublishAsync(workspace);
        var lead = (await (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("owned@example.com"))).Content.ReadFromJsonAsync<JsonElement>(Cancel))
            .GetProperty("lead_id").GetGuid();
        var hook = await IdOfAsync(await workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = "https://crm.example/owned", events = new[] { "lead.captured" } }, Cancel));
        var flow = await IdOfAsync(await workspace.Worker.PostAsync("/api/messaging/flows", new StringContent("""
            {"name": "Owned", "status": "draft", "triggers": [], "definition": {"start": "a", "nodes": {"a": {"type": "end"}}}}
            """, Encoding.UTF8, "application/json"), Cancel));
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1000m);
        var conversion = "owned-" + Guid.NewGuid().ToString("N");
        (await tracked.PostJsonAsync("/api/tracking/conversions", new
        {
            id = conversion, campaign_id = campaign, influencer_id = influencers[0], conversion_type = "purchase", value = 10m, currency = "COP",
        })).EnsureSuccessStatusCode();
        return new WorkspaceResources(funnel.Id, lead, hook, flow, campaign, influencers[0], conversion);
    }

    private static async Task<Guid> IdOfAsync(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Cancel));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
    }

    private sealed record WorkspaceResources(Guid Funnel, Guid Lead, Guid Webhook, Guid Flow, Guid Campaign, Guid Influencer, string Conversion)
    {
        /// <summary>The workspace's resource a path's parameter names, by the path's collection; null for those not made here.</summary>
        public string? Of(string path, string parameter) => (Collection(path), parameter) switch
        {
            ("funnels", _) => Funnel.ToString(),
            ("leads", _) => Lead.ToString(),
            ("webhooks", _) => Webhook.ToString(),
            ("flows", _) => Flow.ToString(),
            ("campaigns", _) => Campaign.ToString(),
            ("influencers", _) => Influencer.ToString(),
            ("conversions", _) => Conversion,
            _ => null,
        };

        private static string? Collection(string path) =>
            path.Split('/', StringSplitOptions.RemoveEmptyEntries).TakeWhile(s => !s.StartsWith('{')).LastOrDefault();

        public async Task AssertUnchangedAsync(Hosts hosts, TrackedWorkspace tracked)
        {
            var workspace = tracked.Workspace;
            Assert.Equal(HttpStatusCode.OK, (await workspace.Runtime.GetAsync($"/api/runtime/funnels/{Funnel}", Cancel)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await workspace.Runtime.GetAsync($"/api/runtime/leads/{Lead}", Cancel)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await workspace.Worker.GetAsync($"/api/messaging/flows/{Flow}", Cancel)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await tracked.Admin.GetAsync($"/api/tracking/campaigns/{Campaign}", Cancel)).StatusCode);
            Assert.Equal("https://crm.example/owned", await hosts.Servers.ScalarAsync<string>(
                "SELECT url FROM messaging.webhook_endpoints WHERE id = @Webhook AND active", new { Webhook }));
            Assert.Equal(0, await hosts.Servers.CountAsync(
                "SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id AND id = @Conversion AND refunded_at IS NOT NULL", new { tracked.Id, Conversion }));
        }
    }
}
