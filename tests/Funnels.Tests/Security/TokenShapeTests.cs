using System.Net;
using System.Net.Http.Json;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using static Funnels.Tests.Security.SecurityKit;

namespace Funnels.Tests.Security;

/// <summary>Every token shape we do not issue is 401, never 500: no session id, no workspace (the test-send answered 500), unknown roles, malformed claims.</summary>
[Collection(ServicesCollection.Name)]
public sealed class TokenShapeTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static (string Name, (string, string)[] Claims)[] Shapes(Guid workspace, Guid session) =>
    [
        ("no sid (tokens issued before sessions)", [("sub", Guid.NewGuid().ToString()), ("workspace_id", workspace.ToString()), ("role", "owner")]),
        ("no workspace", [("sub", Guid.NewGuid().ToString()), ("sid", session.ToString()), ("stamp", Guid.NewGuid().ToString()), ("role", "editor")]),
        ("unknown role", [("sub", Guid.NewGuid().ToString()), ("sid", session.ToString()), ("stamp", Guid.NewGuid().ToString()), ("workspace_id", workspace.ToString()), ("role", "admin")]),
        ("workspace not a uuid", [("sub", Guid.NewGuid().ToString()), ("sid", session.ToString()), ("stamp", Guid.NewGuid().ToString()), ("workspace_id", "default"), ("role", "owner")]),
        ("sid not a uuid", [("sub", Guid.NewGuid().ToString()), ("sid", "1"), ("stamp", Guid.NewGuid().ToString()), ("workspace_id", workspace.ToString()), ("role", "owner")]),
        ("no stamp", [("sub", Guid.NewGuid().ToString()), ("sid", session.ToString()), ("workspace_id", workspace.ToString()), ("role", "owner")]),
        ("api key subject not matching its sid", [("sub", "api-key:" + Guid.NewGuid()), ("sid", session.ToString()), ("workspace_id", workspace.ToString()), ("role", "owner")]),
        ("no subject", [("sid", session.ToString()), ("stamp", Guid.NewGuid().ToString()), ("workspace_id", workspace.ToString()), ("role", "owner")]),
    ];

    [Fact]
    public async Task Tokens_of_shapes_we_never_issue_are_answered_401_by_every_service_never_500()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var shapes = Shapes(workspace.Id, Guid.NewGuid());
        var failures = new List<string>();
        foreach (var (name, claims) in shapes)
        {
            var token = Forge(claims);
            foreach (var (client, method, path) in new (HttpClient, HttpMethod, string)[]
            {
                (hosts.Runtime.CreateClient(), HttpMethod.Get, "/api/runtime/funnels"),
                (hosts.Runtime.CreateClient(), HttpMethod.Post, "/api/runtime/workspaces/current/api-keys"),
                (hosts.Tracking.CreateClient(), HttpMethod.Get, "/api/tracking/campaigns"),
                (hosts.Worker.CreateClient(), HttpMethod.Post, $"/api/messaging/flows/{Guid.NewGuid()}/test-send"),
            })
            {
                using (client)
                {
                    WithToken(client, token);
                    using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? JsonContent.Create(new { to = "+573001112233", name = "k", role = "owner" }) : null };
                    using var response = await client.SendAsync(request, Cancel);
                    if (response.StatusCode != HttpStatusCode.Unauthorized)
                    {
                        failures.Add($"{name}: {method} {path} answered {(int)response.StatusCode}");
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task A_well_formed_token_whose_session_was_never_opened_is_refused()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        using var client = WithToken(hosts.Runtime.CreateClient(), Forge(
            ("sub", Guid.NewGuid().ToString()), ("sid", Guid.NewGuid().ToString()), ("stamp", Guid.NewGuid().ToString()),
            ("workspace_id", workspace.Id.ToString()), ("role", Roles.Owner)));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/runtime/funnels", Cancel)).StatusCode);
    }
}
