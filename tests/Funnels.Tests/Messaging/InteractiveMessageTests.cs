using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// send_interactive end to end: reply buttons and list messages sent in the Graph API's
/// interactive shape, the contact's taps (button_reply, list_reply) delivered as Meta delivers
/// them, and the run resuming on the tapped branch; definitions breaking Meta's limits refused.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class InteractiveMessageTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reply_buttons_go_out_in_Metas_shape_and_a_tap_resumes_the_run_on_the_tapped_branch()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("call me", """
            {"start": "ask", "nodes": {
              "ask": {"type": "send_interactive", "header": "Callback", "body": "Shall we call you, {{contact.name}}?", "footer": "Funnels",
                      "buttons": [{"id": "call_yes", "title": "Yes, call me"}, {"id": "call_no", "title": "No thanks"}], "next": "wait"},
              "wait": {"type": "wait_for_reply", "pattern": "^call_(yes|no)$", "next": "route"},
              "route": {"type": "intent", "map": {"call_yes": "happy", "call_no": "sad"}, "default": "sad"},
              "happy": {"type": "send_text", "text": "Calling you: {{reply.text}}"},
              "sad": {"type": "send_text", "text": "Maybe later"}}}
            """);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("call me"))));
        var run = await kit.RunAsync(flow, waId, "waiting");

        var buttons = (await kit.SentAsync(waId, 1))[0];
        var expected = """
            {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "WA_ID", "type": "interactive",
             "interactive": {"type": "button", "header": {"type": "text", "text": "Callback"}, "body": {"text": "Shall we call you, Ana?"},
               "footer": {"text": "Funnels"},
               "action": {"buttons": [{"type": "reply", "reply": {"id": "call_yes", "title": "Yes, call me"}},
                                      {"type": "reply", "reply": {"id": "call_no", "title": "No thanks"}}]}}}
            """;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected.Replace("WA_ID", waId)), JsonNode.Parse(buttons.Body.GetRawText())), buttons.Body.GetRawText());

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(WhatsAppKit.ButtonReply("call_yes", "Yes, call me"), buttons.Wamid!))));

        await kit.RunAsync(flow, waId, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal("Calling you: Yes, call me", kit.SentTo(waId)[1].Text);
        Assert.Equal("happy", await hosts.Servers.ScalarAsync<string>("SELECT node_id FROM messaging.flow_run_steps WHERE run_id = @run ORDER BY step DESC LIMIT 1", new { run }));
        Assert.Equal("button_reply:call_yes", await hosts.Servers.ScalarAsync<string>(
            "SELECT kind || ':' || payload FROM messaging.inbound_messages WHERE workspace_id = @Id AND kind = 'button_reply'", new { kit.Workspace.Id }));
    }

    [Fact]
    public async Task A_list_message_goes_out_in_Metas_shape_and_a_row_reply_resumes_the_run_on_its_branch()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("shipping", """
            {"start": "pick", "nodes": {
              "pick": {"type": "send_interactive", "header": "Choose Shipping Option", "body": "Which shipping option do you prefer?",
                       "footer": "Lucky Shrub: Your gateway to succulents", "button": "Shipping Options",
                       "sections": [
                         {"title": "I want it ASAP!", "rows": [
                           {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
                           {"id": "priority_mail", "title": "Priority Mail", "description": "1–3 Days"}]},
                         {"title": "I can wait a bit", "rows": [
                           {"id": "usps_ground_advantage", "title": "USPS Ground Advantage", "description": "2–5 Days"},
                           {"id": "media_mail", "title": "Media Mail"}]}],
                       "next": "wait"},
              "wait": {"type": "wait_for_reply", "next": "check"},
              "check": {"type": "condition", "field": "reply.payload", "operator": "equals", "value": "usps_ground_advantage", "then": "slow", "else": "fast"},
              "slow": {"type": "send_text", "text": "{{reply.text}} it is"},
              "fast": {"type": "send_text", "text": "On its way"}}}
            """);
        var waId = WhatsAppKit.NewWaId();
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("Shipping"))));
        var run = await kit.RunAsync(flow, waId, "waiting");

        var list = (await kit.SentAsync(waId, 1))[0];
        var expected = """
            {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "WA_ID", "type": "interactive",
             "interactive": {"type": "list", "header": {"type": "text", "text": "Choose Shipping Option"},
               "body": {"text": "Which shipping option do you prefer?"}, "footer": {"text": "Lucky Shrub: Your gateway to succulents"},
               "action": {"button": "Shipping Options", "sections": [
                 {"title": "I want it ASAP!", "rows": [
                   {"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
                   {"id": "priority_mail", "title": "Priority Mail", "description": "1–3 Days"}]},
                 {"title": "I can wait a bit", "rows": [
                   {"id": "usps_ground_advantage", "title": "USPS Ground Advantage", "description": "2–5 Days"},
                   {"id": "media_mail", "title": "Media Mail"}]}]}}}
            """;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected.Replace("WA_ID", waId)), JsonNode.Parse(list.Body.GetRawText())), list.Body.GetRawText());

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(
            WhatsAppKit.ListReply("usps_ground_advantage", "USPS Ground Advantage", "2–5 Days"), list.Wamid!))));

        await kit.RunAsync(flow, waId, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal("USPS Ground Advantage it is", kit.SentTo(waId)[1].Text);
    }

    [Fact]
    public async Task A_tapped_list_row_starts_the_flow_whose_trigger_phrase_is_its_id()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var flow = await kit.FlowAsync("plan_pro", """{"start": "a", "nodes": {"a": {"type": "send_text", "text": "You picked {{trigger.text}} ({{trigger.payload}})"}}}""");
        var waId = WhatsAppKit.NewWaId();

        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Replying(WhatsAppKit.ListReply("plan_pro", "Pro plan", "All features"), WhatsAppKit.NewWamid()))));

        var run = await kit.RunAsync(flow, waId, "completed");
        await hosts.Servers.SendsOfRunHandledAsync(run);
        Assert.Equal("You picked Pro plan (plan_pro)", Assert.Single(kit.SentTo(waId)).Text);
    }

    [Fact]
    public async Task Interactive_nodes_breaking_Metas_limits_are_refused_naming_the_node_and_field_and_nothing_is_saved()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var rows = string.Join(", ", Enumerable.Range(1, 11).Select(i => $$"""{"id": "r{{i}}", "title": "Row {{i}}"}"""));
        var body = """
            {"name": "Too much", "status": "active", "triggers": [{"type": "phrase", "phrase": "menu"}],
             "definition": {"start": "four", "trigger_interrupts_wait": "yes", "nodes": {
                "four": {"type": "send_interactive", "body": "Pick", "buttons": [
                  {"id": "a", "title": "A"}, {"id": "b", "title": "B"}, {"id": "c", "title": "C"}, {"id": "d", "title": "D"}], "next": "long"},
                "long": {"type": "send_interactive", "body": "Pick", "footer": "F61", "buttons": [
                  {"id": "a", "title": "T21"}, {"id": "a", "title": "B"}, {"id": "I257", "title": "C"}], "next": "none"},
                "none": {"type": "send_interactive", "buttons": [], "next": "both"},
                "both": {"type": "send_interactive", "body": "Pick", "buttons": [{"id": "a", "title": "A"}], "sections": [], "next": "rows"},
                "rows": {"type": "send_interactive", "body": "Pick", "button": "Choose", "sections": [{"title": "All", "rows": [ROWS]}], "next": "row"},
                "row": {"type": "send_interactive", "body": "B4097", "button": "C21", "sections": [
                  {"title": "First", "rows": [{"id": "x", "title": "R25", "description": "D73"}]},
                  {"rows": [{"id": "y", "title": "Y"}]}]}}}}
            """.Replace("ROWS", rows).Replace("F61", new string('f', 61)).Replace("T21", new string('t', 21)).Replace("I257", new string('i', 257))
            .Replace("B4097", new string('b', 4097)).Replace("C21", new string('c', 21)).Replace("R25", new string('r', 25)).Replace("D73", new string('d', 73));
        var response = await kit.Workspace.Worker.PostAsync("/api/messaging/flows", new StringContent(body, Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(Cancel), cancellationToken: Cancel)).RootElement.GetProperty("errors");
        Assert.Equal(
            [
                "definition.nodes.both",
                "definition.nodes.four.buttons",
                "definition.nodes.long.buttons[0].title", "definition.nodes.long.buttons[1].id", "definition.nodes.long.buttons[2].id", "definition.nodes.long.footer",
                "definition.nodes.none.body", "definition.nodes.none.buttons",
                "definition.nodes.row.body", "definition.nodes.row.button", "definition.nodes.row.sections[0].rows[0].description",
                "definition.nodes.row.sections[0].rows[0].title", "definition.nodes.row.sections[1].title",
                "definition.nodes.rows.sections",
                "definition.trigger_interrupts_wait",
            ],
            errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Contains("1 to 3 buttons", errors.GetProperty("definition.nodes.four.buttons")[0].GetString());
        Assert.Contains("at most 20", errors.GetProperty("definition.nodes.long.buttons[0].title")[0].GetString());
        Assert.Contains("used twice", errors.GetProperty("definition.nodes.long.buttons[1].id")[0].GetString());
        Assert.Contains("at most 256", errors.GetProperty("definition.nodes.long.buttons[2].id")[0].GetString());
        Assert.Contains("11 rows", errors.GetProperty("definition.nodes.rows.sections")[0].GetString());
        Assert.Contains("at most 24", errors.GetProperty("definition.nodes.row.sections[0].rows[0].title")[0].GetString());
        Assert.Contains("at most 72", errors.GetProperty("definition.nodes.row.sections[0].rows[0].description")[0].GetString());
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flows WHERE workspace_id = @Id", new { kit.Workspace.Id }));
    }
}
