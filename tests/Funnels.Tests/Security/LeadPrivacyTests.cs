extern alias runtime;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Security;

/// <summary>
/// The tester's attack: knowing a victim's email (or visitor id) is enough to merge into their lead
/// and learn its id; the id must not be enough to read their personal data, and no public answer
/// may carry it. Lead reads do not reflect arbitrary origins.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class LeadPrivacyTests(Hosts hosts)
{
    private const string Evil = "https://evil.example";
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_attacker_submitting_a_victims_email_cannot_read_the_victims_lead_anonymously()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var victimVisitor = Guid.CreateVersion7().ToString();
        var victim = await Json(await funnel.PostAsync("FORM_SUBMIT", Victim(victimVisitor)));
        var victimLead = victim.GetProperty("lead_id").GetGuid();

        // The attacker knows only the email: a FORM_SUBMIT merges into the victim's lead.
        var merged = await funnel.PostAsync("FORM_SUBMIT", new
        {
            page_id = "signup", form_data = new Dictionary<string, object> { ["email"] = "victim@example.com", ["accept"] = true },
        });
        var mergedText = await merged.Content.ReadAsStringAsync(Cancel);
        Assert.Equal(HttpStatusCode.Accepted, merged.StatusCode);
        AssertNoPersonalData(mergedText);
        // ...or only the visitor id: a PAGE_VIEW.
        var viewed = await funnel.PostAsync("PAGE_VIEW", new { page_id = "signup", visitor_id = victimVisitor });
        AssertNoPersonalData(await viewed.Content.ReadAsStringAsync(Cancel));

        using var anonymous = workspace.Public;
        foreach (var path in new[] { $"/api/runtime/leads/{victimLead}/", $"/api/runtime/leads/{victimLead}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", Evil);
            using var read = await anonymous.SendAsync(request, Cancel);
            var text = await read.Content.ReadAsStringAsync(Cancel);
            Assert.True(read.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)read.StatusCode} {text}");
            Assert.Equal("application/problem+json", read.Content.Headers.ContentType?.MediaType);
            Assert.False(read.Headers.Contains("Access-Control-Allow-Origin"), $"{path} echoed an origin");
            AssertNoPersonalData(text);
        }

        // The events and the timeline are no more public than the lead.
        using var events = await anonymous.GetAsync($"/api/runtime/leads/{victimLead}/events", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, events.StatusCode);
        AssertNoPersonalData(await events.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task Lead_endpoints_do_not_echo_a_foreign_origin_even_to_an_admin_or_on_preflight()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var lead = (await Json(await funnel.PostAsync("FORM_SUBMIT", Victim(null)))).GetProperty("lead_id").GetGuid();

        foreach (var path in new[] { $"/api/runtime/leads/{lead}/", $"/api/runtime/leads/{lead}", $"/api/runtime/leads/{lead}/state" })
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, path);
            get.Headers.Add("Origin", Evil);
            using var read = await workspace.Runtime.SendAsync(get, Cancel);
            Assert.False(read.Headers.Contains("Access-Control-Allow-Origin"), $"GET {path} echoed {Evil}");

            using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
            preflight.Headers.Add("Origin", Evil);
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
            using var answer = await workspace.Public.SendAsync(preflight, Cancel);
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"), $"OPTIONS {path} echoed {Evil}");
        }

        // The public write endpoint still answers browsers of any page (the funnel allows any origin).
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/runtime/events/")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { publication_slug = funnel.Slug, event_type = "PAGE_VIEW", payload = new { page_id = "landing" } }),
                System.Text.Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("Origin", "https://shop.example.com");
        using var posted = await workspace.Public.SendAsync(post, Cancel);
        Assert.Equal("https://shop.example.com", posted.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task The_state_read_allows_only_an_origin_the_funnel_lists()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace, allowedOrigins: ["https://shop.example.com"]);
        var submitted = await Json(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("origin-state@example.com")));
        var path = $"/api/runtime/leads/{submitted.GetProperty("lead_id").GetGuid()}/state?lead_token={submitted.GetProperty("lead_token").GetString()}";

        using var client = workspace.Public;
        var answers = new Dictionary<string, HttpResponseMessage>();
        foreach (var origin in new[] { "https://shop.example.com", Evil })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", origin);
            answers[origin] = await client.SendAsync(request, Cancel);
        }

        Assert.Equal(HttpStatusCode.OK, answers[Evil].StatusCode); // the token, not the origin, is the capability
        Assert.False(answers[Evil].Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal("https://shop.example.com", answers["https://shop.example.com"].Headers.GetValues("Access-Control-Allow-Origin").Single());

        // The listed origin may send the token in the Authorization header: its preflight is answered, another's is not.
        foreach (var (origin, allowed) in new[] { ("https://shop.example.com", true), (Evil, false) })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, $"/api/runtime/leads/{submitted.GetProperty("lead_id").GetGuid()}/state");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
            using var answer = await client.SendAsync(preflight, Cancel);
            Assert.Equal(allowed, answer.Headers.TryGetValues("Access-Control-Allow-Origin", out var echoed) && echoed.Single() == origin);
            if (allowed)
            {
                Assert.Contains("authorization", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public async Task The_lead_token_of_the_202_reads_the_state_only()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var submitted = await Json(await funnel.PostAsync("FORM_SUBMIT", Victim(null)));
        Assert.Equal("created", submitted.GetProperty("status").GetString());
        var lead = submitted.GetProperty("lead_id").GetGuid();
        var token = submitted.GetProperty("lead_token").GetString()!;

        using var client = workspace.Public;
        using var byHeader = new HttpRequestMessage(HttpMethod.Get, $"/api/runtime/leads/{lead}/state");
        byHeader.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var read = await client.SendAsync(byHeader, Cancel);
        var text = await read.Content.ReadAsStringAsync(Cancel);
        Assert.True(read.StatusCode == HttpStatusCode.OK, $"{(int)read.StatusCode} {text}");
        var state = JsonDocument.Parse(text).RootElement;
        Assert.Equal(lead, state.GetProperty("lead_id").GetGuid());
        Assert.Equal("thanks", state.GetProperty("state").GetProperty("current_page_id").GetString());
        Assert.Equal("converted", state.GetProperty("state").GetProperty("status").GetString());
        Assert.True(state.GetProperty("state").TryGetProperty("updated_at", out _));
        Assert.Equal(["lead_id", "state"], state.EnumerateObject().Select(p => p.Name).Order());
        AssertNoPersonalData(text);

        using var byQuery = await client.GetAsync($"/api/runtime/leads/{lead}/state/?lead_token={Uri.EscapeDataString(token)}", Cancel);
        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);

        // The capability reads state, not the lead.
        using var full = new HttpRequestMessage(HttpMethod.Get, $"/api/runtime/leads/{lead}/");
        full.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var refused = await client.SendAsync(full, Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        AssertNoPersonalData(await refused.Content.ReadAsStringAsync(Cancel));
        using var withoutToken = await client.GetAsync($"/api/runtime/leads/{lead}/state", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutToken.StatusCode);
        Assert.Equal("application/problem+json", withoutToken.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_lead_token_is_refused_for_another_lead_when_expired_and_when_tampered_with()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var mine = await Json(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("mine@example.com")));
        var theirs = await Json(await funnel.PostAsync("FORM_SUBMIT", Victim(null)));
        var myLead = mine.GetProperty("lead_id").GetGuid();
        var myToken = mine.GetProperty("lead_token").GetString()!;
        var theirLead = theirs.GetProperty("lead_id").GetGuid();
        var tokens = hosts.Runtime.Get<runtime::Funnels.Runtime.Leads.LeadTokens>();
        var expired = tokens.Issue(myLead, DateTimeOffset.UtcNow.AddSeconds(-1));
        var bytes = Convert.FromBase64String(myToken.Replace('-', '+').Replace('_', '/') + new string('=', (4 - myToken.Length % 4) % 4));
        var tampered = new List<string>();
        foreach (var at in new[] { 1, 20, bytes.Length - 1 }) // the lead id, the expiry, the signature
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x01;
            tampered.Add(Convert.ToBase64String(copy).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }
        // A token signed with the admin tokens' own key (not the derived one) is no lead token either.
        var adminToken = hosts.Runtime.IssueAdminToken(workspace.Id, "owner");

        using var client = workspace.Public;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/runtime/leads/{myLead}/state?lead_token={myToken}", Cancel)).StatusCode);
        var refusals = new List<(string What, HttpResponseMessage Answer)>
        {
            ("another lead", await client.GetAsync($"/api/runtime/leads/{theirLead}/state?lead_token={myToken}", Cancel)),
            ("expired", await client.GetAsync($"/api/runtime/leads/{myLead}/state?lead_token={expired}", Cancel)),
            ("an admin token", await client.GetAsync($"/api/runtime/leads/{myLead}/state?lead_token={adminToken}", Cancel)),
            ("garbage", await client.GetAsync($"/api/runtime/leads/{myLead}/state?lead_token=not-a-token", Cancel)),
        };
        foreach (var (token, i) in tampered.Select((t, i) => (t, i)))
        {
            refusals.Add(($"tampered #{i}", await client.GetAsync($"/api/runtime/leads/{myLead}/state?lead_token={token}", Cancel)));
        }
        foreach (var (what, answer) in refusals)
        {
            var text = await answer.Content.ReadAsStringAsync(Cancel);
            Assert.True(answer.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)answer.StatusCode} {text}");
            Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
            AssertNoPersonalData(text);
        }
    }

    [Fact]
    public async Task The_202_keeps_its_fields_and_adds_the_lead_token()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var created = await Json(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("fields@example.com", plan: "pro")));
        var ignored = await Json(await funnel.PostAsync("PAGE_VIEW", new { page_id = "landing", visitor_id = Guid.CreateVersion7().ToString() }));

        Assert.Equal(["lead_id", "lead_token", "next_page_id", "status"], created.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("offer", created.GetProperty("next_page_id").GetString());
        Assert.Equal(JsonValueKind.Null, ignored.GetProperty("lead_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, ignored.GetProperty("lead_token").ValueKind);
    }

    [Fact]
    public async Task An_admin_of_another_workspace_gets_404_and_the_owner_reads_the_lead()
    {
        using var owner = await TestWorkspace.CreateAsync(hosts);
        using var stranger = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(owner);
        var lead = (await Json(await funnel.PostAsync("FORM_SUBMIT", Victim(null)))).GetProperty("lead_id").GetGuid();

        foreach (var path in new[] { $"/api/runtime/leads/{lead}/", $"/api/runtime/leads/{lead}" })
        {
            using var foreign = await stranger.Runtime.GetAsync(path, Cancel);
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
            AssertNoPersonalData(await foreign.Content.ReadAsStringAsync(Cancel));
            var own = await Json(await owner.Runtime.GetAsync(path, Cancel));
            Assert.Equal("Vic Tim", own.GetProperty("form_data").GetProperty("name").GetString());
            Assert.Equal("victim@example.com", own.GetProperty("email").GetString());
        }
        using var foreignState = await stranger.Runtime.GetAsync($"/api/runtime/leads/{lead}/state", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, foreignState.StatusCode); // an admin token is not a lead token
    }

    /// <summary>The victim's submission: name, phone and company are theirs.</summary>
    private static object Victim(string? visitorId) => new
    {
        page_id = "signup",
        visitor_id = visitorId,
        form_data = new Dictionary<string, object>
        {
            ["email"] = "victim@example.com", ["name"] = "Vic Tim", ["phone"] = "+57 300 555 0199", ["company"] = "Victim Corp", ["accept"] = true,
        },
    };

    private static void AssertNoPersonalData(string text)
    {
        foreach (var secret in new[] { "Vic Tim", "300 555 0199", "Victim Corp", "victim@example.com", "form_data" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
