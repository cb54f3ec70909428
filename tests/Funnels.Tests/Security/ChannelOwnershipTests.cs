extern alias messaging;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wolverine;

namespace Funnels.Tests.Security;

/// <summary>
/// Workspace B tries to send WhatsApp messages from workspace A's number: binding a flow to it,
/// test-sending from it, claiming a number without proof, sending after the number was released.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class ChannelOwnershipTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const string Greeting = """
        {"start": "hello", "nodes": {"hello": {"type": "send_text", "text": "Hi from me", "next": "done"}, "done": {"type": "end"}}}
        """;

    [Fact]
    public async Task Workspace_B_cannot_bind_a_flow_to_A_number_and_nothing_is_written()
    {
        var a = await WhatsAppKit.CreateAsync(hosts);
        using var b = await TestWorkspace.CreateAsync(hosts);

        var created = await b.Worker.PostAsync("/api/messaging/flows", Json(Flow(a.PhoneNumberId)), Cancel);
        await AssertNamesAsync(created, "channel_phone_number_id");
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flows WHERE workspace_id = @Id", new { b.Id }));

        var own = await b.Worker.PostAsync("/api/messaging/flows", Json(Flow(null)), Cancel);
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var id = (await own.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
        var moved = await b.Worker.PutAsync($"/api/messaging/flows/{id}", Json(Flow(a.PhoneNumberId)), Cancel);
        await AssertNamesAsync(moved, "channel_phone_number_id");
        Assert.Null(await hosts.Servers.ScalarAsync<string>("SELECT channel_phone_number_id FROM messaging.flows WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task Workspace_B_cannot_test_send_from_A_number_and_nothing_is_queued_or_sent()
    {
        var a = await WhatsAppKit.CreateAsync(hosts);
        var b = await WhatsAppKit.CreateAsync(hosts);
        var flow = await b.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        var waId = WhatsAppKit.NewWaId();

        var response = await b.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+" + waId, phone_number_id = a.PhoneNumberId }, Cancel);

        await AssertNamesAsync(response, "phone_number_id");
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.scheduled_triggers WHERE flow_id = @flow", new { flow }));
        Assert.Empty(hosts.Graph.RequestsFor(a.PhoneNumberId));
    }

    [Fact]
    public async Task Claiming_a_number_needs_its_own_access_token_that_the_graph_api_accepts_for_it()
    {
        using var b = await TestWorkspace.CreateAsync(hosts);
        var number = WhatsAppKit.NewPhoneNumberId();
        var other = WhatsAppKit.NewPhoneNumberId();
        hosts.Graph.Grant("token-for-another-number", other);

        // No token, a token Meta does not know (190), a token that cannot see this number (100).
        await AssertNamesAsync(await ClaimAsync(b.Runtime, number, null), "access_token");
        var unknown = await ClaimAsync(b.Runtime, number, "made-up-token");
        Assert.True(unknown.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden, $"{unknown.StatusCode}");
        Assert.Contains("190", await unknown.Content.ReadAsStringAsync(Cancel));
        var blind = await ClaimAsync(b.Runtime, number, "token-for-another-number");
        Assert.True(blind.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden, $"{blind.StatusCode}");
        Assert.Contains("100", await blind.Content.ReadAsStringAsync(Cancel));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_channels WHERE phone_number_id = @number", new { number }));

        // The number's own token is the proof; it is kept encrypted, never as given.
        hosts.Graph.Grant("token-of-" + number, number);
        Assert.Equal(HttpStatusCode.OK, (await ClaimAsync(b.Runtime, number, "token-of-" + number)).StatusCode);
        var stored = await hosts.Servers.ScalarAsync<string>("SELECT access_token FROM runtime.whatsapp_channels WHERE phone_number_id = @number", new { number });
        Assert.NotNull(stored);
        Assert.DoesNotContain("token-of-" + number, stored);
    }

    [Fact]
    public async Task An_operator_claims_a_number_without_a_token()
    {
        using var operatorOwner = hosts.Runtime.CreateAdminClient(WorkspaceClaims.OperatorWorkspaceId, "owner");
        var number = WhatsAppKit.NewPhoneNumberId();

        var response = await ClaimAsync(operatorOwner, number, null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WorkspaceClaims.OperatorWorkspaceId, await hosts.Servers.ScalarAsync<Guid>(
            "SELECT workspace_id FROM runtime.whatsapp_channels WHERE phone_number_id = @number", new { number }));
        (await operatorOwner.DeleteAsync($"/api/runtime/whatsapp/channels/{number}", Cancel)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Sends_from_a_number_use_its_own_access_token()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        var waId = WhatsAppKit.NewWaId();

        (await kit.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+" + waId }, Cancel)).EnsureSuccessStatusCode();

        var sent = await kit.SentAsync(waId, 1);
        Assert.Equal("Bearer " + kit.AccessToken, sent[0].Authorization);
    }

    [Fact]
    public async Task A_send_from_a_number_the_workspace_no_longer_owns_fails_the_run_without_calling_the_graph_api()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        (await kit.Workspace.Runtime.DeleteAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}", Cancel)).EnsureSuccessStatusCode();
        await hosts.Servers.HandledAsync("messaging", "WhatsAppChannelReleased", kit.PhoneNumberId);

        // A trigger queued before the release (what a test-send or a lead capture had written), run now.
        var waId = WhatsAppKit.NewWaId();
        var trigger = Guid.CreateVersion7();
        var run = Guid.CreateVersion7();
        await using (var connection = new NpgsqlConnection(hosts.Servers.Postgres))
        {
            await connection.ExecuteAsync("""
                WITH contact AS (
                    INSERT INTO messaging.contacts (id, workspace_id, wa_id, phone) VALUES (gen_random_uuid(), @workspace, @waId, '+' || @waId) RETURNING id
                )
                INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input, run_id)
                SELECT @trigger, @workspace, @flow, 1, contact.id, @number, 'test_send', 'test:' || @trigger, '{"source": "test_send"}'::jsonb, @run FROM contact
                """, new { trigger, run, workspace = kit.Workspace.Id, waId, flow, number = kit.PhoneNumberId });
        }
        await using (var scope = hosts.Worker.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IMessageBus>().InvokeAsync(new messaging::Funnels.Messaging.Runs.ExecuteTrigger(trigger), Cancel);
        }

        var error = await Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
            "SELECT error FROM messaging.flow_runs WHERE id = @run AND status = 'failed'", new { run }), TimeSpan.FromSeconds(60), "the run to fail");
        Assert.Contains(kit.PhoneNumberId, error);
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Empty(hosts.Graph.RequestsFor(kit.PhoneNumberId));
    }

    private static Task<HttpResponseMessage> ClaimAsync(HttpClient owner, string number, string? token) =>
        owner.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{number}", new { display_phone_number = "+1 555 0199", access_token = token }, TestWorkspace.Json, Cancel);

    private static JsonObject Flow(string? channel) => new()
    {
        ["name"] = "Borrowed number",
        ["status"] = "active",
        ["channel_phone_number_id"] = channel,
        ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = "hello " + Guid.NewGuid().ToString("N")[..8] }),
        ["definition"] = JsonNode.Parse(Greeting),
    };

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task AssertNamesAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), body);
    }
}
