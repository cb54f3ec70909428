extern alias runtime;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// A test workspace with its own WhatsApp number (a fresh phone-number id, so the fake Graph
/// API's answers and records are this test's alone), Meta-shaped deliveries signed like Meta
/// signs them, and flows saved through the admin API.
/// </summary>
public sealed class WhatsAppKit(Hosts hosts, TestWorkspace workspace, string phoneNumberId)
{
    public TestWorkspace Workspace { get; } = workspace;
    public string PhoneNumberId { get; } = phoneNumberId;

    /// <summary>The number's own Graph API access token (the fake Graph API knows it), which sends from it use.</summary>
    public string AccessToken => TokenOf(PhoneNumberId);

    public static string TokenOf(string phoneNumberId) => "channel-token-" + phoneNumberId;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<WhatsAppKit> CreateAsync(Hosts hosts)
    {
        var workspace = await TestWorkspace.CreateAsync(hosts);
        return new WhatsAppKit(hosts, workspace, await ClaimNumberAsync(hosts, workspace));
    }

    /// <summary>Another fresh number claimed by the kit's workspace.</summary>
    public Task<string> AddNumberAsync() => ClaimNumberAsync(hosts, Workspace);

    public static string NewPhoneNumberId() => "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999);

    /// <summary>
    /// Claims a fresh number with the proof Runtime.Api asks for (its access token, which the fake
    /// Graph API accepts for it), and returns once Messaging.Worker knows the workspace owns it.
    /// </summary>
    public static async Task<string> ClaimNumberAsync(Hosts hosts, TestWorkspace workspace)
    {
        var phoneNumberId = NewPhoneNumberId();
        hosts.Graph.Grant(TokenOf(phoneNumberId), phoneNumberId);
        var response = await workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{phoneNumberId}",
            new { display_phone_number = "+1 555 0100", access_token = TokenOf(phoneNumberId) }, TestWorkspace.Json, Cancel);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Cancel));
        await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>(
            "SELECT workspace_id FROM messaging.whatsapp_channels WHERE phone_number_id = @phoneNumberId AND workspace_id = @Id", new { phoneNumberId, workspace.Id }),
            TimeSpan.FromSeconds(60), $"Messaging.Worker to know that workspace {workspace.Id} owns {phoneNumberId}");
        return phoneNumberId;
    }

    /// <summary>Meta's X-Hub-Signature-256 of a body.</summary>
    public static string Sign(string body, string secret = ServiceHost<runtime::Program>.MetaAppSecret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public static async Task<HttpResponseMessage> PostSignedAsync(Hosts hosts, string body, string? signature)
    {
        using var client = hosts.Runtime.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/meta") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null) request.Headers.Add("X-Hub-Signature-256", signature);
        return await client.SendAsync(request, Cancel);
    }

    public async Task DeliverAsync(string body)
    {
        var response = await PostSignedAsync(hosts, body, Sign(body));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    public static string NewWamid() => "wamid.test-" + Guid.NewGuid().ToString("N");

    public static string NewWaId() => "57" + Random.Shared.NextInt64(3_000_000_000, 3_999_999_999);

    /// <summary>One delivery batching the given messages (each: from, and the message object).</summary>
    public string Delivery(params (string From, JsonObject Message)[] messages) => DeliveryTo(PhoneNumberId, messages);

    /// <summary>One delivery to the given phone-number id batching the given messages.</summary>
    public static string DeliveryTo(string phoneNumberId, params (string From, JsonObject Message)[] messages)
    {
        var contacts = new JsonArray(messages.Select(m => m.From).Distinct()
            .Select(from => (JsonNode)new JsonObject { ["profile"] = new JsonObject { ["name"] = "Ana" }, ["wa_id"] = from }).ToArray());
        var list = new JsonArray(messages.Select(m =>
        {
            var message = (JsonObject)m.Message.DeepClone();
            message["from"] = m.From;
            message["id"] ??= NewWamid();
            message["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString();
            return (JsonNode)message;
        }).ToArray());
        return new JsonObject
        {
            ["object"] = "whatsapp_business_account",
            ["entry"] = new JsonArray(new JsonObject
            {
                ["id"] = "102290129340398",
                ["changes"] = new JsonArray(new JsonObject
                {
                    ["field"] = "messages",
                    ["value"] = new JsonObject
                    {
                        ["messaging_product"] = "whatsapp",
                        ["metadata"] = new JsonObject { ["display_phone_number"] = "15550100", ["phone_number_id"] = phoneNumberId },
                        ["contacts"] = contacts,
                        ["messages"] = list,
                    },
                }),
            }),
        }.ToJsonString();
    }

    /// <summary>
    /// A status webhook for messages we sent, as Meta's messages webhook reference shows it (value.statuses[]:
    /// id, status, timestamp, recipient_id, conversation and pricing for sent/delivered/read, errors[] for failed).
    /// </summary>
    public string StatusDelivery(string wamid, string status, string recipientId, JsonArray? errors = null)
    {
        var entry = new JsonObject
        {
            ["id"] = wamid,
            ["status"] = status,
            ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(),
            ["recipient_id"] = recipientId,
        };
        if (status != "failed")
        {
            entry["conversation"] = new JsonObject
            {
                ["id"] = "deb6f3b4d5e4c1f2a0e9d8c7b6a5f4e3",
                ["expiration_timestamp"] = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds().ToString(),
                ["origin"] = new JsonObject { ["type"] = "service" },
            };
            entry["pricing"] = new JsonObject { ["billable"] = false, ["pricing_model"] = "PMP", ["category"] = "service", ["type"] = "free_customer_service" };
        }
        if (errors is not null) entry["errors"] = errors;
        return Value(new JsonObject { ["statuses"] = new JsonArray(entry) });
    }

    /// <summary>One error of Meta's webhook errors[] ({code, title, message, error_data: {details}, href}).</summary>
    public static JsonObject MetaError(int code, string title, string details) => new()
    {
        ["code"] = code,
        ["title"] = title,
        ["message"] = title,
        ["error_data"] = new JsonObject { ["details"] = details },
        ["href"] = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    };

    /// <summary>Meta's asynchronous error notification: a value carrying only errors[] (Meta's "Errors messages webhooks reference").</summary>
    public string ErrorsDelivery(params JsonObject[] errors) => Value(new JsonObject { ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e).ToArray()) });

    private string Value(JsonObject content)
    {
        var value = new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["metadata"] = new JsonObject { ["display_phone_number"] = "15550100", ["phone_number_id"] = PhoneNumberId },
        };
        foreach (var (key, node) in content.ToList())
        {
            content.Remove(key);
            value[key] = node;
        }
        return new JsonObject
        {
            ["object"] = "whatsapp_business_account",
            ["entry"] = new JsonArray(new JsonObject
            {
                ["id"] = "102290129340398",
                ["changes"] = new JsonArray(new JsonObject { ["value"] = value, ["field"] = "messages" }),
            }),
        }.ToJsonString();
    }

    public static JsonObject Text(string body, string? wamid = null) =>
        new() { ["id"] = wamid, ["type"] = "text", ["text"] = new JsonObject { ["body"] = body } };

    public static JsonObject ButtonReply(string id, string title) =>
        new() { ["type"] = "interactive", ["interactive"] = new JsonObject { ["type"] = "button_reply", ["button_reply"] = new JsonObject { ["id"] = id, ["title"] = title } } };

    /// <summary>A tapped row of a list message, as Meta delivers it (<c>interactive.list_reply</c>).</summary>
    public static JsonObject ListReply(string id, string title, string description) =>
        new() { ["type"] = "interactive", ["interactive"] = new JsonObject { ["type"] = "list_reply", ["list_reply"] = new JsonObject { ["id"] = id, ["title"] = title, ["description"] = description } } };

    /// <summary>The message as a reply to one the business sent (Meta's <c>context</c>: the business number and the replied-to wamid), as taps always are.</summary>
    public static JsonObject Replying(JsonObject message, string wamid)
    {
        message["context"] = new JsonObject { ["from"] = "15550100", ["id"] = wamid };
        return message;
    }

    public static JsonObject QuickReply(string text, string payload) =>
        new() { ["type"] = "button", ["button"] = new JsonObject { ["text"] = text, ["payload"] = payload } };

    /// <summary>Saves an active flow on the kit's number started by the phrase; returns its id.</summary>
    public Task<Guid> FlowAsync(string phrase, string definition, string status = "active") => FlowOnAsync(PhoneNumberId, phrase, definition, status);

    /// <summary>Saves a flow bound to the given number (null: to none) started by the phrase; returns its id.</summary>
    public async Task<Guid> FlowOnAsync(string? channel, string phrase, string definition, string status = "active")
    {
        var body = new JsonObject
        {
            ["name"] = "Flow " + phrase + " on " + (channel ?? "any number"),
            ["status"] = status,
            ["channel_phone_number_id"] = channel,
            ["triggers"] = new JsonArray(new JsonObject { ["type"] = "phrase", ["phrase"] = phrase }),
            ["definition"] = JsonNode.Parse(definition),
        };
        var response = await Workspace.Worker.PostAsync("/api/messaging/flows", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), Cancel);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Cancel));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetGuid();
    }

    /// <summary>The run of a flow for a contact, once it reached the given status.</summary>
    public async Task<Guid> RunAsync(Guid flowId, string waId, string status, int seconds = 30) =>
        (await Eventually.Until(() => hosts.Servers.ScalarAsync<Guid?>("""
            SELECT r.id FROM messaging.flow_runs r JOIN messaging.contacts c ON c.id = r.contact_id
            WHERE r.flow_id = @flowId AND c.wa_id = @waId AND r.status = @status
            """, new { flowId, waId, status }), TimeSpan.FromSeconds(seconds), $"a {status} run of flow {flowId} for {waId}"))!.Value;

    public IReadOnlyList<FakeGraphApi.Request> SentTo(string waId) => hosts.Graph.SentFor(PhoneNumberId).Where(r => r.To == waId).ToList();

    public async Task<IReadOnlyList<FakeGraphApi.Request>> SentAsync(string waId, int count, int seconds = 30) =>
        (await Eventually.Until(() => Task.FromResult(SentTo(waId) is { } sent && sent.Count >= count ? sent : null), TimeSpan.FromSeconds(seconds), $"{count} sends to {waId}"))!;
}
