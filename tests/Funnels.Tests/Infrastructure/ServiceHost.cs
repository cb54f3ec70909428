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
public sealed class ServiceHost<TProgram>(Servers servers) : WebApplicationFactory<TProgram> where TProgram : class
{
    public const string SigningKey = "tests-signing-key-0123456789-0123456789-0123456789";

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
