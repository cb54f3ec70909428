using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using System.Net.Http.Headers;
using Funnels.ServiceDefaults.Security;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// One Funnels service hosted in-process against the real servers, configured exactly the way
/// AppHost configures it (Aspire's connection-string names), with short messaging timings.
/// </summary>
public sealed class ServiceHost<TProgram>(
    Servers servers, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<TProgram> where TProgram : class
{
    public const string SigningKey = "tests-signing-key-0123456789-0123456789-0123456789";
    public const string ClientAddressKey = "tests-client-address-key-0123456789-0123456789";
    public const string AdminEmail = "first-admin@funnels.test";
    public const string AdminPassword = "first-admin-password-for-tests";
    public const string MetaAppSecret = "tests-meta-app-secret";
    public const string MetaVerifyToken = "tests-meta-verify-token";
    public const string EncryptionKey = "dGVzdHMtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtISE=";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        // A test's setting replaces the default one; null leaves it to the service's own default.
        var merged = Settings(servers);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }
        foreach (var (key, value) in merged.Where(s => s.Value is not null))
        {
            builder.UseSetting(key, value);
        }
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    /// <summary>
    /// The configuration every test host gets; a service started as its own process (Faults.Tests)
    /// gets the same as environment variables.
    /// </summary>
    public static Dictionary<string, string?> Settings(Servers servers) => new()
    {
        ["ConnectionStrings:funnels"] = servers.Postgres,
        ["ConnectionStrings:rabbitmq"] = servers.RabbitMq,
        ["ConnectionStrings:redis"] = servers.Redis,
        ["Auth:SigningKey"] = SigningKey,
        [ClientAddress.KeySetting] = ClientAddressKey,
        ["Messaging:RetryCooldownMilliseconds:0"] = "50",
        ["Messaging:RetryCooldownMilliseconds:1"] = "100",
        ["Messaging:ScheduledPolling"] = "00:00:00.500",
        ["Messaging:StaleNodeTimeout"] = "00:00:05",
        ["Bootstrap:Admin:Email"] = AdminEmail,
        ["Bootstrap:Admin:Password"] = AdminPassword,
        ["Webhooks:RetryDelayMilliseconds:0"] = "200",
        ["Webhooks:RetryDelayMilliseconds:1"] = "400",
        // Every in-process request comes from one address: keep the per-IP budget out of the way
        // (the per-IP-and-slug limit stays at its default, and has its own test).
        ["RateLimits:EventsPerIpPerMinute"] = "100000",
        ["RateLimits:LeadReadsPerIpPerMinute"] = "100000",
        ["RateLimits:SignInsPerIpPerMinute"] = "100000",
        // Tests share one address and some (the fuzz) send many wrong passwords for the first admin.
        ["RateLimits:FailedSignInsPerAccountAndIpPerMinute"] = "100000",
        ["RateLimits:FailedSignInsPerAccountPerMinute"] = "100000",
        ["WhatsApp:AppSecret"] = MetaAppSecret,
        ["WhatsApp:VerifyToken"] = MetaVerifyToken,
        ["WhatsApp:RetryDelayMilliseconds:0"] = "200",
        ["WhatsApp:RetryDelayMilliseconds:1"] = "400",
        // Meta's throttling codes: back off from 300 ms (not 4 s) so the tests of GraphErrorTests stay short.
        ["WhatsApp:ThrottleBaseDelayMilliseconds"] = "300",
        ["WhatsApp:ThrottleMaxDelayMilliseconds"] = "2000",
        ["RateLimits:TrackingPerIpPerMinute"] = "100000",
        // The tests' receivers (CRMs, the fake Graph API) listen on loopback; Security tests turn this off on hosts of their own.
        ["Outbound:AllowPrivateTargets"] = "true",
        ["Secrets:EncryptionKey"] = EncryptionKey,
    };

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// A client carrying the token of a fresh member with <paramref name="role"/> in the workspace
    /// (default: the operator workspace), backed by a real session (TestSessions).
    /// </summary>
    public HttpClient CreateAdminClient(Guid? workspaceId = null, string role = "owner")
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", IssueAdminToken(workspaceId, role));
        return client;
    }

    /// <summary>The bearer token of a fresh member with <paramref name="role"/> in the workspace (default: the operator workspace).</summary>
    public string IssueAdminToken(Guid? workspaceId = null, string role = "owner") =>
        TestSessions.Issue(Get<NpgsqlDataSource>(), Get<AdminTokens>(), workspaceId ?? WorkspaceClaims.OperatorWorkspaceId, role);
}
