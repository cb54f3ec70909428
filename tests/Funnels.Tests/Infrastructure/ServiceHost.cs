using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using System.Net.Http.Headers;
using Funnels.ServiceDefaults.Security;
using Microsoft.Extensions.DependencyInjection;

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
    public const string AdminEmail = "first-admin@funnels.test";
    public const string AdminPassword = "first-admin-password-for-tests";
    public const string MetaAppSecret = "tests-meta-app-secret";
    public const string MetaVerifyToken = "tests-meta-verify-token";
    public const string EncryptionKey = "dGVzdHMtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtISE=";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in Settings(servers).Concat(settings ?? new Dictionary<string, string?>()))
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
        ["ConnectionStrings:postgres"] = servers.Postgres,
        ["ConnectionStrings:rabbitmq"] = servers.RabbitMq,
        ["ConnectionStrings:redis"] = servers.Redis,
        ["Auth:SigningKey"] = SigningKey,
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
        ["WhatsApp:AppSecret"] = MetaAppSecret,
        ["WhatsApp:VerifyToken"] = MetaVerifyToken,
        ["WhatsApp:RetryDelayMilliseconds:0"] = "200",
        ["WhatsApp:RetryDelayMilliseconds:1"] = "400",
        ["RateLimits:TrackingPerIpPerMinute"] = "100000",
        // The tests' receivers (CRMs, the fake Graph API) listen on loopback; Security tests turn this off on hosts of their own.
        ["Outbound:AllowPrivateTargets"] = "true",
        ["Secrets:EncryptionKey"] = EncryptionKey,
    };

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>A client carrying an admin bearer token for the given workspace.</summary>
    public HttpClient CreateAdminClient(Guid? workspaceId = null, string role = "owner")
    {
        var client = CreateClient();
        var token = Get<AdminTokens>().Issue("tests@funnels.local", workspaceId ?? Guid.Empty, role);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
