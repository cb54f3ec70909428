using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using System.Net.Http.Headers;
using Funnels.ServiceDefaults.Security;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// One Funnels service hosted in-process against the real servers, configured exactly the way
/// AppHost configures it (Aspire's connection-string names), with short messaging timings.
/// </summary>
public sealed class ServiceHost<TProgram>(Servers servers, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<TProgram> where TProgram : class
{
    public const string SigningKey = "tests-signing-key-0123456789-0123456789-0123456789";
    public const string AdminEmail = "first-admin@funnels.test";
    public const string AdminPassword = "first-admin-password-for-tests";
    public const string MetaAppSecret = "tests-meta-app-secret";
    public const string MetaVerifyToken = "tests-meta-verify-token";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:postgres", servers.Postgres);
        builder.UseSetting("ConnectionStrings:rabbitmq", servers.RabbitMq);
        builder.UseSetting("ConnectionStrings:redis", servers.Redis);
        builder.UseSetting("Auth:SigningKey", SigningKey);
        builder.UseSetting("Messaging:RetryCooldownMilliseconds:0", "50");
        builder.UseSetting("Messaging:RetryCooldownMilliseconds:1", "100");
        builder.UseSetting("Messaging:ScheduledPolling", "00:00:00.500");
        builder.UseSetting("Messaging:StaleNodeTimeout", "00:00:05");
        builder.UseSetting("Bootstrap:Admin:Email", AdminEmail);
        builder.UseSetting("Bootstrap:Admin:Password", AdminPassword);
        builder.UseSetting("Webhooks:RetryDelayMilliseconds:0", "200");
        builder.UseSetting("Webhooks:RetryDelayMilliseconds:1", "400");
        // Every in-process request comes from one address: keep the per-IP budget out of the way
        // (the per-IP-and-slug limit stays at its default, and has its own test).
        builder.UseSetting("RateLimits:EventsPerIpPerMinute", "100000");
        builder.UseSetting("RateLimits:LeadReadsPerIpPerMinute", "100000");
        builder.UseSetting("RateLimits:SignInsPerIpPerMinute", "100000");
        builder.UseSetting("WhatsApp:AppSecret", MetaAppSecret);
        builder.UseSetting("WhatsApp:VerifyToken", MetaVerifyToken);
        builder.UseSetting("WhatsApp:RetryDelayMilliseconds:0", "200");
        builder.UseSetting("WhatsApp:RetryDelayMilliseconds:1", "400");
        builder.UseSetting("RateLimits:TrackingPerIpPerMinute", "100000");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

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
