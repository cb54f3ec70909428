extern alias runtime;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using static Funnels.Tests.Security.SecurityKit;

namespace Funnels.Tests.Security;

/// <summary>
/// One person could lock everyone out of the panel: sign-ins were limited per client address, and
/// every panel user reaches Runtime.Api from Admin.Web's address. Now failures count per account and
/// real address (Admin.Web forwards the browser's, signed), so a guesser locks out only themselves.
/// These tests run a Runtime.Api with the production sign-in limits; every request names its
/// (forwarded) address, so no other test's sign-ins share their buckets.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class SignInThrottlingTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>The sign-in limits at their defaults (the shared test hosts lift them).</summary>
    private static readonly Dictionary<string, string?> ProductionLimits = new()
    {
        ["RateLimits:SignInsPerIpPerMinute"] = null,
        ["RateLimits:FailedSignInsPerAccountAndIpPerMinute"] = null,
        ["RateLimits:FailedSignInsPerAccountPerMinute"] = null,
    };

    [Fact]
    public async Task Eleven_wrong_sign_ins_for_one_account_from_one_address_stop_neither_another_account_nor_another_address()
    {
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, ProductionLimits);
        using var client = runtime.CreateClient();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var (_, other, _) = await MemberAsync(hosts, workspace, "viewer");
        var (attacker, elsewhere) = (NewAddress(), NewAddress());
        var victim = ServiceHost<runtime::Program>.AdminEmail;

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 11; i++)
        {
            answers.Add((await SignInAsync(client, new { email = victim, password = "wrong-guess-" + i }, Forwarded(attacker))).StatusCode);
        }
        var otherAccountSameAddress = await SignInAsync(client, new { email = other, password = Password }, Forwarded(attacker));
        var sameAccountOtherAddress = await SignInAsync(client, new { email = victim, password = ServiceHost<runtime::Program>.AdminPassword }, Forwarded(elsewhere));

        Assert.All(answers.Take(10), status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, answers[10]);
        Assert.Equal(HttpStatusCode.OK, otherAccountSameAddress.StatusCode);
        Assert.Equal(HttpStatusCode.OK, sameAccountOtherAddress.StatusCode);
    }

    [Fact]
    public async Task A_forged_forwarded_address_from_outside_admin_web_is_ignored()
    {
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, ProductionLimits);
        using var client = runtime.CreateClient();
        var email = $"nobody-{Guid.NewGuid():N}@funnels.test";
        var address = NewAddress();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string[] forgeries = [address, $"{address};{now};{new string('0', 64)}", Forwarded(address).Replace(address, NewAddress()),
            Funnels.ServiceDefaults.Security.ClientAddress.Sign("a-key-that-is-not-admin-webs-0123456789", address, DateTimeOffset.UtcNow)];

        // Eleven wrong guesses claiming the address without Admin.Web's signature...
        for (var i = 0; i < 11; i++)
        {
            await SignInAsync(client, new { email, password = "guess-" + i }, forgeries[i % forgeries.Length]);
        }
        // ...were not counted for it: the real owner of that address (through Admin.Web) is not throttled.
        var genuine = await SignInAsync(client, new { email, password = "the real one?" }, Forwarded(address));

        Assert.Equal(HttpStatusCode.Unauthorized, genuine.StatusCode);
    }

    [Fact]
    public async Task A_stale_signed_address_is_ignored()
    {
        var key = ServiceHost<runtime::Program>.ClientAddressKey;
        var header = Funnels.ServiceDefaults.Security.ClientAddress.Sign(key, "10.1.2.3", DateTimeOffset.UtcNow.AddMinutes(-5));

        Assert.Null(Funnels.ServiceDefaults.Security.ClientAddress.Verified(header, key, DateTimeOffset.UtcNow));
        Assert.Equal("10.1.2.3", Funnels.ServiceDefaults.Security.ClientAddress.Verified(Forwarded("10.1.2.3"), key, DateTimeOffset.UtcNow));
    }
}
