using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Funnels.Tests.Tracking;

namespace Funnels.Tests.Runtime;

/// <summary>
/// One person, one number: "+16505551234", "16505551234" and "+1 (650) 555-1234" are one lead
/// identity, one CRM contact phone and one WhatsApp contact, and nothing is stored as "++...".
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class PhoneIdentityTests(Hosts hosts)
{
    private static readonly string[] Spellings = ["+16505551234", "16505551234", "+1 (650) 555-1234", "++16505551234", "1-650-555-1234"];

    [Fact]
    public async Task A_phone_written_any_way_is_one_lead_stored_as_E164()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var schema = TestFunnel.ThreeStepSchema();
        schema["pages"]![1]!["fields"]![0]!["required"] = false; // phone is the identity: no email
        var funnel = await TestFunnel.PublishAsync(workspace, schema);

        var leads = new List<Guid>();
        foreach (var phone in Spellings)
        {
            var response = await funnel.PostAsync("FORM_SUBMIT", new { page_id = "signup", form_data = new Dictionary<string, object> { ["phone"] = phone, ["accept"] = true } });
            Assert.True(response.IsSuccessStatusCode, $"{phone}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
            leads.Add((await TrackedWorkspace.BodyAsync(response)).GetProperty("lead_id").GetGuid());
        }

        Assert.Single(leads.Distinct());
        Assert.Equal("+16505551234", await hosts.Servers.ScalarAsync<string>("SELECT phone FROM runtime.leads WHERE id = @id", new { id = leads[0] }));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
        Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id AND phone LIKE '++%'", new { workspace.Id }));
    }

    [Fact]
    public async Task A_CRM_contact_phone_is_stored_as_E164_whatever_the_CRM_sent()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        for (var i = 0; i < Spellings.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await tracked.CrmWebhookAsync(new { contact_id = $"crm-{i}", phone = Spellings[i] })).StatusCode);
        }
        Assert.Equal(["+16505551234"], (await hosts.Servers.ScalarAsync<string>(
            "SELECT string_agg(DISTINCT phone, ',') FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }))!.Split(','));
    }

    [Fact]
    public async Task WhatsApp_messages_from_plus_and_bare_forms_of_a_number_are_one_contact_and_no_phone_is_stored_with_two_pluses()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var waId = WhatsAppKit.NewWaId();
        // Meta's own tables show both forms; a relay may forward "+<digits>" as from and wa_id.
        await kit.DeliverAsync(kit.Delivery(("+" + waId, WhatsAppKit.Text("hola"))));
        await kit.DeliverAsync(kit.Delivery((waId, WhatsAppKit.Text("otra vez"))));

        await Eventually.Until(async () => await hosts.Servers.CountAsync(
                "SELECT count(*) FROM messaging.inbound_messages WHERE workspace_id = @Id", new { kit.Workspace.Id }) >= 2 ? "both" : null,
            TimeSpan.FromSeconds(60), "both messages to be received");
        var contacts = await hosts.Servers.ScalarAsync<string>(
            "SELECT string_agg(wa_id || '|' || coalesce(phone, ''), ',') FROM messaging.contacts WHERE workspace_id = @Id", new { kit.Workspace.Id });
        Assert.Equal($"{waId}|+{waId}", contacts);
    }
}
