extern alias runtime;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using runtime::Funnels.Runtime.Workspaces;
using static Funnels.Tests.Security.SecurityKit;

namespace Funnels.Tests.Security;

/// <summary>
/// Sign-in time told a known email (a password hash, 56-104 ms) from an unknown one (3-7 ms). Not a
/// timing number, the code path: an unknown email goes through the same password hash.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class SignInTimingTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Records what it checked, and checks it exactly as the real one does.</summary>
    public sealed class RecordingPasswordCheck : PasswordCheck
    {
        public ConcurrentQueue<(bool KnownAccount, bool Result)> Checks { get; } = new();

        public override bool Verify(string? hash, string password)
        {
            var result = base.Verify(hash, password);
            Checks.Enqueue((hash is not null, result));
            return result;
        }
    }

    [Fact]
    public async Task An_unknown_email_goes_through_the_same_password_hash_as_a_known_one_and_gets_the_same_answer()
    {
        var recorder = new RecordingPasswordCheck();
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, services: s => s.AddSingleton<PasswordCheck>(recorder));
        using var client = runtime.CreateClient();

        var known = await SignInAsync(client, new { email = ServiceHost<runtime::Program>.AdminEmail, password = "not the password" });
        var unknown = await SignInAsync(client, new { email = $"nobody-{Guid.NewGuid():N}@funnels.test", password = "not the password" });

        Assert.Equal([(true, false), (false, false)], recorder.Checks.ToArray());
        Assert.Equal(HttpStatusCode.Unauthorized, known.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal((await known.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("detail").GetString(),
            (await unknown.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("detail").GetString());
    }
}
