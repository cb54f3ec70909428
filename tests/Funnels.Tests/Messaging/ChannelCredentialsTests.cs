extern alias runtime;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Messaging;

/// <summary>
/// Channels of other Meta apps than the installation's: their own app secret signs their
/// deliveries, their own verify token answers the challenge, their own access token sends; all
/// stored with Data Protection (its key ring in PostgreSQL, shared by Runtime.Api and the worker).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class ChannelCredentialsTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;
    private const string InstallSecret = ServiceHost<runtime::Program>.MetaAppSecret;

    private const string Greeting = """
        {"start": "hello", "nodes": {"hello": {"type": "send_text", "text": "Hi from me", "next": "done"}, "done": {"type": "end"}}}
        """;

    [Fact]
    public async Task A_delivery_is_accepted_with_the_secret_of_its_number_app_and_refused_with_the_other_app_secret()
    {
        var a = await WhatsAppKit.CreateAsync(hosts);
        var b = await WhatsAppKit.CreateAsync(hosts);
        var secretA = NewSecret();
        var secretB = NewSecret();
        await SetCredentialsAsync(a, secretA, null);
        await SetCredentialsAsync(b, secretB, null);
        var (bodyA, wamidA) = DeliveryOf(a);
        var (bodyB, wamidB) = DeliveryOf(b);

        // A number of its own app: neither the other app's secret nor the installation's signs for it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhatsAppKit.PostSignedAsync(hosts, bodyA, WhatsAppKit.Sign(bodyA, secretB))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhatsAppKit.PostSignedAsync(hosts, bodyA, WhatsAppKit.Sign(bodyA, InstallSecret))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhatsAppKit.PostSignedAsync(hosts, bodyB, WhatsAppKit.Sign(bodyB, secretA))).StatusCode);
        Assert.Equal(0, await StoredAsync(wamidA) + await StoredAsync(wamidB));

        Assert.Equal(HttpStatusCode.OK, (await WhatsAppKit.PostSignedAsync(hosts, bodyA, WhatsAppKit.Sign(bodyA, secretA))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WhatsAppKit.PostSignedAsync(hosts, bodyB, WhatsAppKit.Sign(bodyB, secretB))).StatusCode);
        Assert.Equal(1, await StoredAsync(wamidA));
        Assert.Equal(1, await StoredAsync(wamidB));
        await InboundAsync(a, wamidA);
        await InboundAsync(b, wamidB);
    }

    [Fact]
    public async Task A_number_without_its_own_secret_uses_the_installation_one_and_numbers_of_two_apps_in_one_delivery_are_refused()
    {
        var own = await WhatsAppKit.CreateAsync(hosts);
        var plain = await WhatsAppKit.CreateAsync(hosts);
        var secret = NewSecret();
        await SetCredentialsAsync(own, secret, null);

        var (body, wamid) = DeliveryOf(plain);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body, secret))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WhatsAppKit.PostSignedAsync(hosts, body, WhatsAppKit.Sign(body, InstallSecret))).StatusCode);
        await InboundAsync(plain, wamid);

        // One delivery naming a number of each app: whichever secret signs it, it is refused, and nothing is kept.
        var (ownBody, ownWamid) = DeliveryOf(own);
        var (plainBody, plainWamid) = DeliveryOf(plain);
        var mixed = Merge(ownBody, plainBody);
        foreach (var signer in new[] { secret, InstallSecret })
        {
            var response = await WhatsAppKit.PostSignedAsync(hosts, mixed, WhatsAppKit.Sign(mixed, signer));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("different Meta apps", await response.Content.ReadAsStringAsync(Cancel));
        }
        Assert.Equal(0, await StoredAsync(ownWamid) + await StoredAsync(plainWamid));
    }

    [Fact]
    public async Task The_challenge_answers_a_channel_verify_token_beside_the_installation_one_until_the_channel_is_released()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var token = "verify-" + Guid.NewGuid().ToString("N");
        using var client = hosts.Runtime.CreateClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await ChallengeAsync(client, token)).StatusCode);

        await SetCredentialsAsync(kit, null, token);

        var answered = await ChallengeAsync(client, token);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("1158201444", await answered.Content.ReadAsStringAsync(Cancel));
        Assert.Equal(HttpStatusCode.OK, (await ChallengeAsync(client, ServiceHost<runtime::Program>.MetaVerifyToken)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await ChallengeAsync(client, token + "x")).StatusCode);

        (await kit.Workspace.Runtime.DeleteAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}", Cancel)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Forbidden, (await ChallengeAsync(client, token)).StatusCode);
    }

    [Fact]
    public async Task The_api_says_which_credentials_a_channel_has_never_their_values_and_they_are_stored_encrypted()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var secret = NewSecret();
        var token = "verify-" + Guid.NewGuid().ToString("N");
        await SetCredentialsAsync(kit, secret, token);
        // A rename later keeps them.
        (await kit.Workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}",
            new { display_phone_number = "+1 555 0123" }, TestWorkspace.Json, Cancel)).EnsureSuccessStatusCode();

        var list = await kit.Workspace.Runtime.GetStringAsync("/api/runtime/whatsapp/channels", Cancel);
        var channel = JsonDocument.Parse(list).RootElement.GetProperty("items").EnumerateArray().Single(c => c.GetProperty("phone_number_id").GetString() == kit.PhoneNumberId);
        Assert.True(channel.GetProperty("has_app_secret").GetBoolean(), list);
        Assert.True(channel.GetProperty("has_verify_token").GetBoolean(), list);
        Assert.True(channel.GetProperty("has_access_token").GetBoolean(), list);
        Assert.Equal("+1 555 0123", channel.GetProperty("display_phone_number").GetString());
        Assert.DoesNotContain(secret, list);
        Assert.DoesNotContain(token, list);

        var stored = await hosts.Servers.ScalarAsync<string>(
            "SELECT app_secret || ' ' || verify_token || ' ' || access_token FROM runtime.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId });
        Assert.NotNull(stored);
        Assert.DoesNotContain(secret, stored);
        Assert.DoesNotContain(token, stored);
        Assert.DoesNotContain(kit.AccessToken, stored);
        Assert.DoesNotContain(':', stored); // Data Protection's values, not the old k1: ones

        // Another workspace cannot set the credentials of this number.
        using var other = await TestWorkspace.CreateAsync(hosts);
        var taken = await other.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}", new { app_secret = NewSecret() }, TestWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        // Too long a secret names its field and writes nothing.
        var tooLong = await kit.Workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}", new { app_secret = new string('a', 300) }, TestWorkspace.Json, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("app_secret", await tooLong.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task A_token_protected_by_runtime_api_is_read_by_the_worker_and_the_key_ring_holds_no_plaintext_key()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var inWorker = await hosts.Servers.ScalarAsync<string>("SELECT access_token FROM messaging.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId });
        Assert.NotNull(inWorker);
        Assert.False(SecretProtector.IsLegacy(inWorker));
        Assert.DoesNotContain(kit.AccessToken, inWorker);

        var waId = await TestSendAsync(kit);
        Assert.Equal("Bearer " + kit.AccessToken, (await kit.SentAsync(waId, 1))[0].Authorization);

        var ring = (await KeyRingAsync()).ToList();
        Assert.NotEmpty(ring);
        Assert.All(ring, xml =>
        {
            Assert.DoesNotContain("masterKey", xml);
            Assert.DoesNotContain("unencrypted", xml);
            Assert.Contains(typeof(KeyRingDecryptor).FullName!, xml);
        });
    }

    [Fact]
    public async Task A_token_written_before_data_protection_still_decrypts_and_is_written_anew_with_the_next_change()
    {
        var kit = await WhatsAppKit.CreateAsync(hosts);
        var oldToken = "legacy-token-" + kit.PhoneNumberId;
        hosts.Graph.Grant(oldToken, kit.PhoneNumberId);
        var legacy = new SecretCipher(new SecretSettings { EncryptionKey = ServiceHost<runtime::Program>.EncryptionKey }).Protect(oldToken, kit.PhoneNumberId);
        Assert.StartsWith("k1:", legacy);
        await hosts.Servers.ScalarAsync<int>("""
            UPDATE runtime.whatsapp_channels SET access_token = @legacy WHERE phone_number_id = @PhoneNumberId;
            UPDATE messaging.whatsapp_channels SET access_token = @legacy WHERE phone_number_id = @PhoneNumberId;
            SELECT 1
            """, new { legacy, kit.PhoneNumberId });

        var waId = await TestSendAsync(kit);
        Assert.Equal("Bearer " + oldToken, (await kit.SentAsync(waId, 1))[0].Authorization);

        // The next write of the channel (a rename) writes its token with Data Protection; the worker learns it.
        (await kit.Workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}",
            new { display_phone_number = "+1 555 0124" }, TestWorkspace.Json, Cancel)).EnsureSuccessStatusCode();
        var renewed = await hosts.Servers.ScalarAsync<string>("SELECT access_token FROM runtime.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId });
        Assert.False(SecretProtector.IsLegacy(renewed!));
        await Eventually.Until(async () => await hosts.Servers.ScalarAsync<string>(
            "SELECT access_token FROM messaging.whatsapp_channels WHERE phone_number_id = @PhoneNumberId", new { kit.PhoneNumberId }) == renewed ? (bool?)true : null,
            TimeSpan.FromSeconds(60), "the worker to hold the token written anew");
        var again = await TestSendAsync(kit);
        Assert.Equal("Bearer " + oldToken, (await kit.SentAsync(again, 1))[0].Authorization);
    }

    private static string NewSecret() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private async Task SetCredentialsAsync(WhatsAppKit kit, string? appSecret, string? verifyToken)
    {
        var response = await kit.Workspace.Runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{kit.PhoneNumberId}",
            new { app_secret = appSecret, verify_token = verifyToken }, TestWorkspace.Json, Cancel);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Cancel));
    }

    private static (string Body, string Wamid) DeliveryOf(WhatsAppKit kit)
    {
        var wamid = WhatsAppKit.NewWamid();
        return (kit.Delivery((WhatsAppKit.NewWaId(), WhatsAppKit.Text("hello there", wamid))), wamid);
    }

    /// <summary>One delivery with the entries of both (Meta batches entries the same way).</summary>
    private static string Merge(string first, string second)
    {
        var merged = JsonNode.Parse(first)!.AsObject();
        foreach (var entry in JsonNode.Parse(second)!["entry"]!.AsArray().ToList())
        {
            merged["entry"]!.AsArray().Add(entry!.DeepClone());
        }
        return merged.ToJsonString();
    }

    private Task<long> StoredAsync(string wamid) =>
        hosts.Servers.CountAsync("SELECT count(*) FROM runtime.whatsapp_webhook_events WHERE body LIKE '%' || @wamid || '%'", new { wamid });

    private Task InboundAsync(WhatsAppKit kit, string wamid) => Eventually.Until(() => hosts.Servers.ScalarAsync<string>(
        "SELECT text FROM messaging.inbound_messages WHERE wamid = @wamid AND workspace_id = @Id", new { wamid, kit.Workspace.Id }), TimeSpan.FromSeconds(30), "the inbound message");

    private static Task<HttpResponseMessage> ChallengeAsync(HttpClient client, string token) =>
        client.GetAsync($"/webhooks/meta?hub.mode=subscribe&hub.verify_token={Uri.EscapeDataString(token)}&hub.challenge=1158201444", Cancel);

    private async Task<IEnumerable<string>> KeyRingAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(hosts.Servers.Postgres);
        return await Dapper.SqlMapper.QueryAsync<string>(connection, "SELECT xml FROM runtime.data_protection_keys");
    }

    private static async Task<string> TestSendAsync(WhatsAppKit kit)
    {
        var flow = await kit.FlowAsync("never typed " + Guid.NewGuid().ToString("N")[..6], Greeting, status: "draft");
        var waId = WhatsAppKit.NewWaId();
        (await kit.Workspace.Worker.PostAsJsonAsync($"/api/messaging/flows/{flow}/test-send", new { to = "+" + waId }, Cancel)).EnsureSuccessStatusCode();
        return waId;
    }
}
