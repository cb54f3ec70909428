using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// Each CRM adapter with deliveries shaped as its vendor documents them: GoHighLevel's workflow
/// webhook and marketplace ContactCreate / ContactUpdate, HubSpot's signed (v3) event arrays,
/// Pipedrive's webhooks v2 with basic auth, and the generic JSON adapter with its paths and a URL token.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class CrmAdapterTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    private Task<string?> LinkedContactAsync(TrackedWorkspace tracked, string visitor) => hosts.Servers.ScalarAsync<string>(
        "SELECT contact_id FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor });

    [Fact]
    public async Task GoHighLevel_marketplace_contact_events_link_the_visitor_in_the_configured_custom_field()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var crm = await CrmKit.ConfigureAsync(tracked, "gohighlevel", new { auth = "token", visitor_field = "BcdmQEsNgz6AVpgLVUJ0" });
        var visitor = TrackedWorkspace.NewVisitorId();
        await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"));

        // GoHighLevel's ContactCreate example, with the visitor id in the workspace's custom field.
        var create = $$"""
            {"type":"ContactCreate","locationId":"ve9EPM428h8vShlRW1KT","id":"nmFmQEsNgz6AVpgLVUJ0","address1":"3535 1st St N","city":"Dolomite",
             "state":"AL","companyName":"Loram ipsum","country":"DE","source":"xyz form","dateAdded":"2021-11-26T12:41:02.193Z",
             "dateOfBirth":"2000-01-05T00:00:00.000Z","dnd":true,"email":"JohnDeo@gmail.com","name":"John Deo","firstName":"John","lastName":"Deo",
             "phone":"+919509597501","postalCode":"452001","tags":["id magna sed Lorem","Duis dolor commodo aliqua"],"website":"https://www.google.com/",
             "attachments":[],"assignedTo":"nmFmQEsNgz6AVpgLVUJ0",
             "customFields":[{"id":"Xy7mQEsNgz6AVpgLVUJ1","value":"XYZ Corp"},{"id":"BcdmQEsNgz6AVpgLVUJ0","value":"{{visitor}}"}]}
            """;
        var created = await crm.PostAsync(create, CrmKit.Token(crm.Secret!));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("linked", (await TrackedWorkspace.BodyAsync(created)).GetProperty("link").GetString());
        Assert.Equal("nmFmQEsNgz6AVpgLVUJ0", await LinkedContactAsync(tracked, visitor));
        Assert.Equal("johndeo@gmail.com|+919509597501|id magna sed Lorem,Duis dolor commodo aliqua", await hosts.Servers.ScalarAsync<string>(
            "SELECT email || '|' || phone || '|' || array_to_string(tags, ',') FROM tracking.contacts WHERE workspace_id = @Id AND id = 'nmFmQEsNgz6AVpgLVUJ0'", new { tracked.Id }));

        // A ContactUpdate repeats the link (a confirmation); an event of another type is ignored, not refused.
        var update = create.Replace("ContactCreate", "ContactUpdate");
        Assert.Equal("confirmed", (await TrackedWorkspace.BodyAsync(await crm.PostAsync(update, CrmKit.Token(crm.Secret!)))).GetProperty("link").GetString());
        var note = await crm.PostAsync("""{"type":"NoteCreate","locationId":"ve9EPM428h8vShlRW1KT","id":"n1","contactId":"nmFmQEsNgz6AVpgLVUJ0","body":"hi"}""", CrmKit.Token(crm.Secret!));
        Assert.Equal(HttpStatusCode.OK, note.StatusCode);
        Assert.Equal(1, (await TrackedWorkspace.BodyAsync(note)).GetProperty("ignored").GetInt32());
    }

    [Fact]
    public async Task A_GoHighLevel_workflow_webhook_finds_the_visitor_under_a_field_label_with_spaces_and_reads_comma_separated_tags()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts, visitorField: "Funnels Visitor ID");
        var visitor = TrackedWorkspace.NewVisitorId();
        var workflow = new JsonObject
        {
            ["contact_id"] = "ghl-label-1", ["first_name"] = "Ana", ["email"] = "ana@example.com", ["phone"] = "+1 (650) 555-1234",
            ["tags"] = "lead, instagram", ["Funnels Visitor ID"] = visitor, ["workflow"] = new JsonObject { ["id"] = "w1", ["name"] = "New lead" },
            ["customData"] = new JsonObject(),
        };
        var response = await tracked.CrmWebhookAsync(workflow);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ghl-label-1", await LinkedContactAsync(tracked, visitor));
        Assert.Equal("+16505551234|lead,instagram", await hosts.Servers.ScalarAsync<string>(
            "SELECT phone || '|' || array_to_string(tags, ',') FROM tracking.contacts WHERE workspace_id = @Id AND id = 'ghl-label-1'", new { tracked.Id }));
    }

    [Fact]
    public async Task HubSpot_signed_event_arrays_create_the_contact_and_a_change_of_the_visitor_property_links_it()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        const string appSecret = "hubspot-client-secret-0123456789";
        var crm = await CrmKit.ConfigureAsync(tracked, "hubspot", new { auth = "hubspot_v3", secret = appSecret, visitor_field = "funnels_visitor_id" });
        var visitor = TrackedWorkspace.NewVisitorId();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // HubSpot batches events: the contact's creation, then the property change carrying the visitor id.
        var events = $$"""
            [{"eventId":567890123,"subscriptionId":234567,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"contact.creation",
              "attemptNumber":0,"objectId":65059681032,"changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:45678"},
             {"eventId":567890124,"subscriptionId":234568,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"contact.propertyChange",
              "attemptNumber":0,"objectId":65059681032,"propertyName":"funnels_visitor_id","propertyValue":"{{visitor}}","changeSource":"FORM","sourceId":"userId:45678"},
             {"eventId":567890125,"subscriptionId":234569,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"deal.creation",
              "attemptNumber":0,"objectId":9001,"changeFlag":"CREATED","changeSource":"CRM_UI"}]
            """;

        var forged = await crm.PostAsync(events, CrmKit.HubSpotV3("not-the-app-secret", events));
        var replayed = await crm.PostAsync(events, CrmKit.HubSpotV3(appSecret, events, DateTimeOffset.UtcNow.AddMinutes(-6)));
        var unsigned = await crm.PostAsync(events);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.Contains("5 minutes", (await TrackedWorkspace.BodyAsync(replayed)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Null(await LinkedContactAsync(tracked, visitor));

        var signed = await crm.PostAsync(events, CrmKit.HubSpotV3(appSecret, events));
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        var outcome = await TrackedWorkspace.BodyAsync(signed);
        Assert.Equal(1, outcome.GetProperty("ignored").GetInt32());
        Assert.Equal("no_visitor_id,linked", string.Join(",", outcome.GetProperty("contacts").EnumerateArray().Select(c => c.GetProperty("link").GetString())));
        Assert.Equal("65059681032", await LinkedContactAsync(tracked, visitor));
        Assert.Equal("webhook/signed", await hosts.Servers.ScalarAsync<string>(
            "SELECT method || '/' || trust FROM tracking.visitor_links WHERE workspace_id = @Id AND visitor_id = @visitor", new { tracked.Id, visitor }));
    }

    [Fact]
    public async Task HubSpot_object_subscriptions_of_contacts_link_and_those_of_other_object_types_are_ignored()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        const string appSecret = "hubspot-client-secret-abcdefghij";
        var crm = await CrmKit.ConfigureAsync(tracked, "hubspot", new { auth = "hubspot_v3", secret = appSecret, visitor_field = "funnels_visitor_id" });
        var visitor = TrackedWorkspace.NewVisitorId();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // The developer platform's object-based subscriptions carry objectTypeId (0-1: contacts, 0-3: deals).
        var events = $$"""
            [{"eventId":100,"subscriptionId":200,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"object.creation",
              "attemptNumber":0,"objectId":7001,"objectTypeId":"0-1","changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:45678"},
             {"eventId":101,"subscriptionId":201,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"object.propertyChange",
              "attemptNumber":0,"objectId":7001,"objectTypeId":"0-1","propertyName":"funnels_visitor_id","propertyValue":"{{visitor}}",
              "changeSource":"FORM","isSensitive":false},
             {"eventId":102,"subscriptionId":202,"portalId":12345678,"appId":987654,"occurredAt":{{now}},"subscriptionType":"object.propertyChange",
              "attemptNumber":0,"objectId":9001,"objectTypeId":"0-3","propertyName":"funnels_visitor_id","propertyValue":"{{visitor}}","changeSource":"CRM_UI"}]
            """;

        var signed = await crm.PostAsync(events, CrmKit.HubSpotV3(appSecret, events));

        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal(1, (await TrackedWorkspace.BodyAsync(signed)).GetProperty("ignored").GetInt32());
        Assert.Equal("7001", await LinkedContactAsync(tracked, visitor));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id AND id = '9001'", new { tracked.Id }));
    }

    [Fact]
    public async Task Pipedrive_webhooks_v2_with_basic_auth_link_the_person_and_other_entities_are_ignored()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        const string key = "d1b9e2f5c8a04b7e9f3a6c2d5e8b1a4f7c0d3e6b";
        var crm = await CrmKit.ConfigureAsync(tracked, "pipedrive", new { auth = "basic", username = "pipedrive", visitor_field = key });
        var visitor = TrackedWorkspace.NewVisitorId();
        var person = $$$$"""
            {"data":{"id":42,"name":"Ana Gómez","first_name":"Ana","last_name":"Gómez","owner_id":18487521,"org_id":null,
               "emails":[{"label":"work","value":"Ana@Example.com","primary":true}],
               "phones":[{"label":"mobile","value":"16505551234","primary":true}],
               "label_ids":[],"visible_to":"3","add_time":"2026-05-20T14:00:00Z","update_time":"2026-05-20T14:00:00Z",
               "custom_fields":{"{{{{key}}}}":{"type":"varchar","value":"{{{{visitor}}}}"}}},
             "previous":null,
             "meta":{"action":"create","entity":"person","company_id":"12882925","correlation_id":"a5d6c0b6-4c1f-4b0e-9a8b-0a0b0c0d0e0f","entity_id":"42",
               "id":"b8f1a1c2-9a3e-4a55-8e39-3a1d1b2c3d4e","is_bulk_edit":false,"timestamp":"2026-05-20T14:00:00.123Z","type":"general","user_id":"18487521",
               "version":"2.0","webhook_id":"99","webhook_owner_id":"18487521","change_source":"app","permitted_user_ids":["18487521"],"attempt":1,
               "host":"company.pipedrive.com"}}
            """;

        var wrong = await crm.PostAsync(person, CrmKit.Basic("pipedrive", "wrong-password"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var linked = await crm.PostAsync(person, CrmKit.Basic("pipedrive", crm.Secret!));
        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        Assert.Equal("linked", (await TrackedWorkspace.BodyAsync(linked)).GetProperty("link").GetString());
        Assert.Equal("42", await LinkedContactAsync(tracked, visitor));
        Assert.Equal("ana@example.com|+16505551234", await hosts.Servers.ScalarAsync<string>(
            "SELECT email || '|' || phone FROM tracking.contacts WHERE workspace_id = @Id AND id = '42'", new { tracked.Id }));

        var deal = person.Replace("\"entity\":\"person\"", "\"entity\":\"deal\"");
        var ignored = await crm.PostAsync(deal, CrmKit.Basic("pipedrive", crm.Secret!));
        Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
        Assert.Equal(1, (await TrackedWorkspace.BodyAsync(ignored)).GetProperty("ignored").GetInt32());

        // A webhooks v1 body (current / previous) is refused with what to change, not with a field it never had.
        var v1 = await crm.PostAsync("""{"v":1,"matches_filters":{"current":[]},"meta":{"action":"added","object":"person","id":10,"v":1},"current":{"id":10,"name":"Person Name"},"previous":null,"event":"added.person"}""",
            CrmKit.Basic("pipedrive", crm.Secret!));
        Assert.Equal(HttpStatusCode.BadRequest, v1.StatusCode);
        Assert.Contains("version 2.0", (await TrackedWorkspace.BodyAsync(v1)).GetProperty("errors").GetProperty("body")[0].GetString());
    }

    [Fact]
    public async Task The_generic_adapter_reads_its_configured_paths_and_a_URL_token_authenticates_senders_without_headers()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var crm = await CrmKit.ConfigureAsync(tracked, "generic", new
        {
            auth = "path_token",
            paths = new { contact_id = "$.record.id", email = "$.record.fields['E-mail']", phone = "$.record.fields.Phone", visitor_id = "$.record.fields['Visitor ID']" },
        });
        Assert.Matches("^/api/tracking/crm/generic/crmt_[0-9a-f]{64}$", crm.Address);
        var visitor = TrackedWorkspace.NewVisitorId();
        var body = $$$$"""{"event":"record.updated","record":{"id":"rec-77","fields":{"E-mail":"Bo@Example.com","Phone":"+1 650.555.1234","Visitor ID":"{{{{visitor}}}}"}}}""";

        var guessed = await crm.PostAsync(body, address: "/api/tracking/crm/generic/crmt_" + new string('0', 64));
        Assert.Equal(HttpStatusCode.Unauthorized, guessed.StatusCode);
        var byWorkspace = await crm.PostAsync(body, address: $"/api/tracking/crm/generic/{tracked.Id}");
        Assert.Equal(HttpStatusCode.Unauthorized, byWorkspace.StatusCode);
        var response = await crm.PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("rec-77", await LinkedContactAsync(tracked, visitor));
        Assert.Equal("bo@example.com|+16505551234", await hosts.Servers.ScalarAsync<string>(
            "SELECT email || '|' || phone FROM tracking.contacts WHERE workspace_id = @Id AND id = 'rec-77'", new { tracked.Id }));

        var missing = await crm.PostAsync("""{"record":{"fields":{}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(missing)).GetProperty("errors").TryGetProperty("$.record.id", out _));
    }

    [Fact]
    public async Task A_body_of_another_CRM_gets_a_400_naming_the_adapter_that_expected_it_and_what_it_looked_for()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        await CrmKit.ConfigureAsync(tracked, "hubspot", new { auth = "hubspot_v3", secret = "hubspot-client-secret-0123456789" });
        var hubspotArray = """[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1708986598741,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":65059681032}]""";
        var pipedrive = """{"data":{"id":42,"name":"Ana"},"previous":null,"meta":{"action":"create","entity":"person","entity_id":"42","version":"2.0"}}""";

        var arrayToGoHighLevel = await tracked.CrmWebhookAsync(JsonNode.Parse(hubspotArray)!);
        var pipedriveToGoHighLevel = await tracked.CrmWebhookAsync(JsonNode.Parse(pipedrive)!);
        var bad = new CrmKit(tracked, JsonDocument.Parse($$"""{"address":"/api/tracking/crm/hubspot/{{tracked.Id}}"}""").RootElement);
        var objectToHubSpot = await bad.PostAsync(pipedrive, CrmKit.HubSpotV3("hubspot-client-secret-0123456789", pipedrive));

        var bodies = new Dictionary<HttpResponseMessage, JsonElement>();
        foreach (var r in new[] { arrayToGoHighLevel, pipedriveToGoHighLevel, objectToHubSpot }) bodies[r] = await TrackedWorkspace.BodyAsync(r);
        string Body(HttpResponseMessage r) => bodies[r].GetProperty("errors").GetProperty("body")[0].GetString()!;
        Assert.Equal(HttpStatusCode.BadRequest, arrayToGoHighLevel.StatusCode);
        Assert.Contains("gohighlevel adapter expects", Body(arrayToGoHighLevel));
        Assert.Contains("HubSpot", Body(arrayToGoHighLevel));
        Assert.Equal(HttpStatusCode.BadRequest, pipedriveToGoHighLevel.StatusCode);
        Assert.Contains("Pipedrive", Body(pipedriveToGoHighLevel));
        Assert.False(bodies[pipedriveToGoHighLevel].GetProperty("errors").TryGetProperty("contact_id", out _));
        Assert.Equal(HttpStatusCode.BadRequest, objectToHubSpot.StatusCode);
        Assert.Contains("hubspot adapter expects a JSON array", Body(objectToHubSpot));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task Adapter_settings_are_validated_and_secrets_are_stored_encrypted_and_never_shown_again()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var invalid = await tracked.Admin.PutAsJsonAsync("/api/tracking/settings/crm/pipedrive", new { auth = "hmac" }, TrackedWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(invalid)).GetProperty("errors").TryGetProperty("auth", out _));
        var noPaths = await tracked.Admin.PutAsJsonAsync("/api/tracking/settings/crm/generic", new { auth = "token", paths = new { email = "$.a[" } }, TrackedWorkspace.Json, Cancel);
        var errors = (await TrackedWorkspace.BodyAsync(noPaths)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("paths.contact_id", out _));
        Assert.True(errors.TryGetProperty("paths.email", out _));

        var crm = await CrmKit.ConfigureAsync(tracked, "gohighlevel", new { auth = "hmac", visitor_field = "Funnels Visitor ID" });
        var stored = await hosts.Servers.ScalarAsync<string>("SELECT secret_protected FROM tracking.crm_adapters WHERE workspace_id = @Id", new { tracked.Id });
        Assert.DoesNotContain(crm.Secret!, stored);
        var listed = await tracked.Admin.GetStringAsync("/api/tracking/settings/crm", Cancel);
        Assert.DoesNotContain(crm.Secret!, listed);
        Assert.Contains("Funnels Visitor ID", listed);
        using var viewer = hosts.Tracking.CreateAdminClient(tracked.Id, role: "editor");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutAsJsonAsync("/api/tracking/settings/crm/gohighlevel", new { auth = "token" }, TrackedWorkspace.Json, Cancel)).StatusCode);
    }
}
