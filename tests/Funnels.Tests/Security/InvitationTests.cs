extern alias runtime;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using static Funnels.Tests.Security.SecurityKit;

namespace Funnels.Tests.Security;

/// <summary>
/// PUT members answered differently for unknown accounts (enumeration), and added any existing
/// account to the owner's workspace without its consent. Now it invites: the same answer for every
/// email that is not a member yet, and nobody joins until they accept after signing in.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class InvitationTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_last_owner_cannot_be_given_another_role_and_stays_owner()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var self = ServiceHost<runtime::Program>.AdminEmail;

        var demoted = await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email = self, role = "viewer" }, Cancel);

        Assert.Equal(HttpStatusCode.Conflict, demoted.StatusCode);
        Assert.Equal("application/problem+json", demoted.Content.Headers.ContentType?.MediaType);
        var members = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/members", Cancel);
        Assert.Equal("owner", members.EnumerateArray().Single(m => m.GetProperty("email").GetString() == self).GetProperty("role").GetString());
        // Still an owner, with the same token: nothing changed.
        Assert.Equal(HttpStatusCode.OK, (await workspace.Runtime.GetAsync("/api/runtime/workspaces/current/invitations", Cancel)).StatusCode);
    }

    [Fact]
    public async Task Put_members_answers_the_same_for_known_and_unknown_emails_and_adds_nobody_until_accepted()
    {
        using var elsewhere = await TestWorkspace.CreateAsync(hosts);
        var (existingId, existing, _) = await MemberAsync(hosts, elsewhere, "viewer");
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var unknown = $"unknown-{Guid.NewGuid():N}@funnels.test";

        var answers = new List<(HttpStatusCode Status, string Shape)>();
        foreach (var body in new object[]
        {
            new { email = existing, role = "editor" }, new { email = unknown, role = "editor" },
            new { email = existing, role = "editor", password = "another-password-0123" }, new { email = unknown + ".x", role = "editor", password = "another-password-0123" },
        })
        {
            var response = await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", body, Cancel);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
            answers.Add((response.StatusCode, string.Join(",", json.EnumerateObject().Select(p => $"{p.Name}:{(p.Name is "id" or "email" ? "" : p.Value.ToString())}"))));
        }
        var members = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/members", Cancel);

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Equal(HttpStatusCode.Accepted, answers[0].Status);
        Assert.DoesNotContain(members.EnumerateArray(), m => m.GetProperty("email").GetString() is { } e && (e == existing || e.StartsWith("unknown-")));
        // The existing account's password was not changed by the owner's request.
        using var anonymous = hosts.Runtime.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(anonymous, new { email = existing, password = Password })).StatusCode);

        // The invitee sees the invitation after signing in, and joins only by accepting it.
        using var invitee = WithToken(hosts.Runtime.CreateClient(), await TokenAsync(await SignInAsync(anonymous, new { email = existing, password = Password })));
        var pending = await invitee.GetFromJsonAsync<JsonElement>("/api/runtime/auth/invitations", Cancel);
        var invitation = Assert.Single(pending.EnumerateArray(), i => i.GetProperty("workspace_id").GetGuid() == workspace.Id);
        Assert.Equal("editor", invitation.GetProperty("role").GetString());
        var accepted = await invitee.PostAsync($"/api/runtime/auth/invitations/{invitation.GetProperty("id").GetGuid()}/accept", null, Cancel);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        members = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/members", Cancel);
        var joined = Assert.Single(members.EnumerateArray(), m => m.GetProperty("user_id").GetGuid() == existingId);
        Assert.Equal("editor", joined.GetProperty("role").GetString());
        Assert.Equal(0, (await invitee.GetFromJsonAsync<JsonElement>("/api/runtime/auth/invitations", Cancel)).EnumerateArray()
            .Count(i => i.GetProperty("workspace_id").GetGuid() == workspace.Id));
    }

    [Fact]
    public async Task A_declined_invitation_adds_nobody_and_another_persons_invitation_cannot_be_accepted()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, invited, invitedToken) = await MemberAsync(hosts, await TestWorkspace.CreateAsync(hosts), "viewer");
        var (_, _, bystanderToken) = await MemberAsync(hosts, await TestWorkspace.CreateAsync(hosts), "viewer");
        var id = (await (await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email = invited, role = "owner" }, Cancel))
            .Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
        using var bystander = WithToken(hosts.Runtime.CreateClient(), bystanderToken);
        using var invitee = WithToken(hosts.Runtime.CreateClient(), invitedToken);

        Assert.Equal(HttpStatusCode.NotFound, (await bystander.PostAsync($"/api/runtime/auth/invitations/{id}/accept", null, Cancel)).StatusCode);
        var sent = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/invitations", Cancel);
        Assert.Equal(invited, Assert.Single(sent.EnumerateArray()).GetProperty("email").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await invitee.DeleteAsync($"/api/runtime/auth/invitations/{id}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await invitee.PostAsync($"/api/runtime/auth/invitations/{id}/accept", null, Cancel)).StatusCode);
        var members = await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/members", Cancel);
        Assert.Equal(1, members.GetArrayLength());
        Assert.Equal(0, (await workspace.Runtime.GetFromJsonAsync<JsonElement>("/api/runtime/workspaces/current/invitations", Cancel)).GetArrayLength());
    }

    [Fact]
    public async Task An_owner_withdraws_an_invitation_and_it_can_no_longer_be_accepted()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, invited, invitedToken) = await MemberAsync(hosts, await TestWorkspace.CreateAsync(hosts), "viewer");
        var id = (await (await workspace.Runtime.PutAsJsonAsync("/api/runtime/workspaces/current/members", new { email = invited, role = "editor" }, Cancel))
            .Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
        using var invitee = WithToken(hosts.Runtime.CreateClient(), invitedToken);

        Assert.Equal(HttpStatusCode.NoContent, (await workspace.Runtime.DeleteAsync($"/api/runtime/workspaces/current/invitations/{id}", Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await invitee.PostAsync($"/api/runtime/auth/invitations/{id}/accept", null, Cancel)).StatusCode);
    }
}
