extern alias tracking;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>
/// The workspace's CRM secret (the first GoHighLevel webhook's) is encrypted at rest: rotation
/// stores ciphertext, and a secret written in plain text before keeps verifying and is encrypted on
/// first use or at start-up (docs/crm-webhooks.md#the-workspaces-crm-secret).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class CrmSecretTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_rotated_CRM_secret_is_stored_encrypted_and_deliveries_signed_with_the_shown_secret_are_accepted()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var first = tracked.CrmSecret!;
        var stored = await StoredAsync(tracked);
        Assert.Null(stored.Plaintext);
        Assert.NotNull(stored.Protected);
        Assert.DoesNotContain(first, stored.Protected);

        var signed = await tracked.CrmWebhookAsync(new { contact_id = "c-1", fid_vid = TrackedWorkspace.NewVisitorId() });
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TokenWebhookAsync(tracked, first, "c-2")).StatusCode);

        // A new secret replaces the old one at once, and is stored encrypted too.
        var rotated = await tracked.Admin.PostAsync("/api/tracking/settings/crm-secret", null, Cancel);
        var second = (await TrackedWorkspace.BodyAsync(rotated)).GetProperty("secret").GetString()!;
        Assert.NotEqual(first, second);
        Assert.DoesNotContain(second, (await StoredAsync(tracked)).Protected);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tracked.CrmWebhookAsync(new { contact_id = "c-3" }, signWith: first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracked.CrmWebhookAsync(new { contact_id = "c-4" }, signWith: second)).StatusCode);
        Assert.True((await tracked.Admin.GetFromJsonAsync<JsonElement>("/api/tracking/settings", Cancel)).GetProperty("has_crm_secret").GetBoolean());

        // The ciphertext is bound to its workspace: copied to another, it verifies nothing there.
        using var other = await TrackedWorkspace.CreateAsync(hosts);
        await hosts.Servers.ScalarAsync<object>(
            "UPDATE tracking.workspace_settings SET crm_secret_protected = @copied WHERE workspace_id = @Id", new { copied = (await StoredAsync(tracked)).Protected, other.Id });
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.CrmWebhookAsync(new { contact_id = "c-5" }, signWith: second)).StatusCode);
        Assert.Equal(3, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.contacts WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task A_CRM_secret_kept_in_plain_text_before_still_verifies_and_is_then_stored_encrypted()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        // As a Tracking.Api of before migration 0010 rotates it: plain text in crm_secret, the ciphertext beside it left as it was.
        var plaintext = "crm_" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "0123456789abcdef";
        await WritePlaintextAsync(tracked, plaintext, clearProtected: false);

        var signed = await tracked.CrmWebhookAsync(new { contact_id = "old-1", fid_vid = TrackedWorkspace.NewVisitorId() }, signWith: plaintext);

        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal("linked", (await TrackedWorkspace.BodyAsync(signed)).GetProperty("link").GetString());
        var stored = await StoredAsync(tracked);
        Assert.Null(stored.Plaintext);
        Assert.NotNull(stored.Protected);
        Assert.DoesNotContain(plaintext, stored.Protected);
        // Now read from its ciphertext: still accepted, signed or as the token; the value it replaced is not.
        Assert.Equal(HttpStatusCode.OK, (await TokenWebhookAsync(tracked, plaintext, "old-2")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tracked.CrmWebhookAsync(new { contact_id = "old-3" }, signWith: plaintext)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tracked.CrmWebhookAsync(new { contact_id = "old-4" }, signWith: tracked.CrmSecret)).StatusCode);
    }

    [Fact]
    public async Task Without_an_encryption_key_no_CRM_secret_is_stored_plain_text_ones_keep_working_and_a_start_with_the_key_encrypts_them()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var plaintext = "crm_" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "fedcba9876543210";
        await WritePlaintextAsync(tracked, plaintext, clearProtected: true);

        await using (var keyless = new ServiceHost<tracking::Program>(hosts.Servers, new Dictionary<string, string?> { ["Secrets:EncryptionKey"] = null }))
        {
            using var owner = keyless.CreateAdminClient(tracked.Id);
            var rotate = await owner.PostAsync("/api/tracking/settings/crm-secret", null, Cancel);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, rotate.StatusCode);
            Assert.Contains("Secrets:EncryptionKey", await rotate.Content.ReadAsStringAsync(Cancel));

            using var crm = keyless.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await TokenWebhookAsync(tracked, plaintext, "keyless-1", crm)).StatusCode);
            Assert.Equal(new Stored(plaintext, null), await StoredAsync(tracked));
        }

        // A Tracking.Api starting with the key encrypts what was left in plain text.
        await using var restarted = new ServiceHost<tracking::Program>(hosts.Servers);
        using var client = restarted.CreateClient();
        var stored = await Eventually.Until<Stored>(async () => await StoredAsync(tracked) is { Plaintext: null } s ? s : null,
            TimeSpan.FromSeconds(30), "the plain-text CRM secret to be encrypted at start");
        Assert.DoesNotContain(plaintext, stored.Protected);
        Assert.Equal(HttpStatusCode.OK, (await tracked.CrmWebhookAsync(new { contact_id = "keyed-1" }, signWith: plaintext)).StatusCode);
    }

    private sealed record Stored(string? Plaintext, string? Protected);

    private async Task<Stored> StoredAsync(TrackedWorkspace tracked) => new(
        await hosts.Servers.ScalarAsync<string>("SELECT crm_secret FROM tracking.workspace_settings WHERE workspace_id = @Id", new { tracked.Id }),
        await hosts.Servers.ScalarAsync<string>("SELECT crm_secret_protected FROM tracking.workspace_settings WHERE workspace_id = @Id", new { tracked.Id }));

    private Task WritePlaintextAsync(TrackedWorkspace tracked, string plaintext, bool clearProtected) => hosts.Servers.ScalarAsync<object>(
        $"UPDATE tracking.workspace_settings SET crm_secret = @plaintext{(clearProtected ? ", crm_secret_protected = NULL" : "")} WHERE workspace_id = @Id",
        new { plaintext, tracked.Id });

    /// <summary>A GoHighLevel workflow delivery at the first address with the secret in X-Funnels-Token.</summary>
    private Task<HttpResponseMessage> TokenWebhookAsync(TrackedWorkspace tracked, string secret, string contactId, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{tracked.Id}")
        {
            Content = JsonContent.Create(new { contact_id = contactId, email = $"{contactId}@example.com" }),
        };
        request.Headers.Add("X-Funnels-Token", secret);
        return (client ?? tracked.Public).SendAsync(request, Cancel);
    }
}
