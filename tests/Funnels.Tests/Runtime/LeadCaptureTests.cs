using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Runtime;

[Collection(ServicesCollection.Name)]
public sealed class LeadCaptureTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_lead_advances_along_the_funnel_and_every_step_is_in_its_timeline()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var visitor = Guid.CreateVersion7().ToString();

        var submitted = await Body(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("Ana@Example.com ", plan: "pro", visitorId: visitor)));
        Assert.Equal("created", submitted.GetProperty("status").GetString());
        Assert.Equal("offer", submitted.GetProperty("next_page_id").GetString());
        var leadId = submitted.GetProperty("lead_id").GetGuid();

        // The read a frontend makes of its own lead: its state, with the 202's lead token.
        var state = await Body(await workspace.Public.GetAsync(
            $"/api/runtime/leads/{leadId}/state/?lead_token={submitted.GetProperty("lead_token").GetString()}", Cancel));
        Assert.Equal("offer", state.GetProperty("state").GetProperty("current_page_id").GetString());
        Assert.Equal("active", state.GetProperty("state").GetProperty("status").GetString());
        Assert.False(state.TryGetProperty("form_data", out _), "a lead token reads the state only");
        // The documented admin read, with the trailing slash existing clients use.
        var lead = await Body(await workspace.Runtime.GetAsync($"/api/runtime/leads/{leadId}/", Cancel));
        Assert.Equal(funnel.Id, lead.GetProperty("funnel_id").GetGuid());
        Assert.Equal("pro", lead.GetProperty("form_data").GetProperty("plan").GetString());
        Assert.True(lead.TryGetProperty("created_at", out _));

        var clicked = await Body(await funnel.PostAsync("CLICK", new { page_id = "offer", visitor_id = visitor }));
        Assert.Equal("updated", clicked.GetProperty("status").GetString());
        Assert.Equal(leadId, clicked.GetProperty("lead_id").GetGuid());
        Assert.Equal("thanks", clicked.GetProperty("next_page_id").GetString());

        var admin = await Body(await workspace.Runtime.GetAsync($"/api/runtime/leads/{leadId}", Cancel));
        Assert.Equal("thanks", admin.GetProperty("state").GetProperty("current_page_id").GetString());
        Assert.Equal("converted", admin.GetProperty("state").GetProperty("status").GetString());
        Assert.Equal("ana@example.com", admin.GetProperty("email").GetString());
        Assert.Equal(2, admin.GetProperty("state").GetProperty("version").GetInt64());

        var timeline = (await Body(await workspace.Runtime.GetAsync($"/api/runtime/leads/{leadId}/events", Cancel))).EnumerateArray().ToList();
        Assert.Equal(["FORM_SUBMIT", "CLICK"], timeline.Select(e => e.GetProperty("event_type").GetString()));
        Assert.Equal(JsonValueKind.Null, timeline[0].GetProperty("from_page_id").ValueKind);
        Assert.Equal("offer", timeline[0].GetProperty("to_page_id").GetString());
        Assert.Equal(("offer", "thanks"), (timeline[1].GetProperty("from_page_id").GetString(), timeline[1].GetProperty("to_page_id").GetString()));
        Assert.Equal(("active", "converted"), (timeline[1].GetProperty("from_status").GetString(), timeline[1].GetProperty("to_status").GetString()));
    }

    [Fact]
    public async Task Both_spellings_of_the_events_path_work_and_conditions_choose_the_path()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var basic = await Body(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("basic@example.com", plan: "basic"), path: "/api/runtime/events"));

        Assert.Equal("thanks", basic.GetProperty("next_page_id").GetString());
    }

    [Fact]
    public async Task The_same_person_submitting_again_updates_their_lead_instead_of_creating_another()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var first = await Body(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("same@example.com")));
        var second = await Body(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("  SAME@example.com")));

        Assert.Equal("created", first.GetProperty("status").GetString());
        Assert.Equal("updated", second.GetProperty("status").GetString());
        Assert.Equal(first.GetProperty("lead_id").GetGuid(), second.GetProperty("lead_id").GetGuid());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task Fifty_identical_submissions_raced_together_create_exactly_one_lead()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var payload = TestFunnel.Signup("race@example.com", visitorId: Guid.CreateVersion7().ToString());

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload))));
        var bodies = await Task.WhenAll(responses.Select(Body));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Single(bodies.Select(b => b.GetProperty("lead_id").GetGuid()).Distinct());
        Assert.Single(bodies, b => b.GetProperty("status").GetString() == "created");
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
        Assert.Equal(50, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id", new { workspace.Id }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id AND from_page_id IS NULL", new { workspace.Id }));
    }

    [Fact]
    public async Task An_idempotency_key_replays_the_first_answer_and_records_the_event_once()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var key = Guid.NewGuid().ToString();
        var payload = TestFunnel.Signup("replay@example.com");

        var first = await funnel.PostAsync("FORM_SUBMIT", payload, key);
        var repeats = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload, key))));

        var firstBody = await first.Content.ReadAsStringAsync(Cancel);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        foreach (var repeat in repeats)
        {
            Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
            Assert.Equal(JsonDocument.Parse(firstBody).RootElement.GetProperty("lead_id").GetGuid(), (await Body(repeat)).GetProperty("lead_id").GetGuid());
            Assert.Equal("true", repeat.Headers.GetValues("Idempotent-Replayed").Single());
        }
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id", new { workspace.Id }));

        var reused = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("other@example.com"), key);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task A_purchase_converts_the_lead_and_keeps_the_money_exact()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var lead = await Body(await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("buyer@example.com", plan: "pro")));

        var purchase = await Body(await funnel.PostAsync("PURCHASE", new
        {
            page_id = "offer", form_data = new { email = "buyer@example.com" }, amount = 150000.0m, currency = "cop",
        }));

        Assert.Equal(lead.GetProperty("lead_id").GetGuid(), purchase.GetProperty("lead_id").GetGuid());
        var state = await Body(await workspace.Runtime.GetAsync($"/api/runtime/leads/{purchase.GetProperty("lead_id").GetGuid()}", Cancel));
        Assert.Equal("converted", state.GetProperty("state").GetProperty("status").GetString());
        var payload = await hosts.Servers.ScalarAsync<string>(
            "SELECT payload::text FROM runtime.lead_events WHERE workspace_id = @Id AND event_type = 'PURCHASE'", new { workspace.Id });
        var recorded = JsonDocument.Parse(payload!).RootElement;
        Assert.Equal(150000.0m, recorded.GetProperty("amount").GetDecimal());
        Assert.Equal("COP", recorded.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task A_page_view_of_someone_who_is_not_a_lead_is_accepted_and_writes_nothing()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var view = await Body(await funnel.PostAsync("PAGE_VIEW", new { page_id = "landing", visitor_id = Guid.CreateVersion7().ToString() }));

        Assert.Equal("ignored", view.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("lead_id").ValueKind);
        Assert.Equal(0, await hosts.Servers.LeadFootprintAsync(workspace.Id));
    }

    private async Task<JsonElement> Body(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
