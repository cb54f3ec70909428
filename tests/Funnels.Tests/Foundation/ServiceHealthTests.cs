extern alias messaging;
extern alias runtime;
extern alias tracking;

using System.Net;
using System.Text.Json;
using Funnels.Contracts;
using Funnels.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;
using Wolverine.Runtime;

namespace Funnels.Tests.Foundation;

[Collection(ServicesCollection.Name)]
public sealed class ServiceHealthTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string> Services => ["runtime", "tracking", "worker"];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Each_service_is_healthy_with_database_broker_and_cache_reachable(string service)
    {
        using var client = Client(service);

        var health = await client.GetAsync("/health", Cancel);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync(Cancel)).RootElement;

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        foreach (var check in new[] { "postgres", "rabbitmq", "redis" })
        {
            Assert.Equal("Healthy", body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive", Cancel)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Without_redis_each_service_reports_it_degraded_and_stays_ready(string service)
    {
        // A host of its own pointed at a port nobody listens on: the shared Redis stays up for the other tests.
        var dead = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        dead.Start();
        var port = ((IPEndPoint)dead.LocalEndpoint).Port;
        dead.Stop();
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:redis"] = $"127.0.0.1:{port},password=unused" };
        // Its Wolverine sends and listens nowhere: the shared hosts keep their messages.
        Action<IServiceCollection> quiet = s => s.DisableAllExternalWolverineTransports();
        await using IAsyncDisposable host = service switch
        {
            "runtime" => new ServiceHost<runtime::Program>(hosts.Servers, settings, quiet),
            "tracking" => new ServiceHost<tracking::Program>(hosts.Servers, settings, quiet),
            _ => new ServiceHost<messaging::Program>(hosts.Servers, settings, quiet),
        };
        using var client = host switch
        {
            ServiceHost<runtime::Program> r => r.CreateClient(),
            ServiceHost<tracking::Program> t => t.CreateClient(),
            ServiceHost<messaging::Program> m => m.CreateClient(),
            _ => throw new InvalidOperationException(),
        };

        var health = await client.GetAsync("/health", Cancel);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync(Cancel)).RootElement;

        // docs/operations.md: Redis is reported degraded, not unhealthy (nothing durable lives there), so a probe still gets 200.
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Degraded", body.GetProperty("status").GetString());
        Assert.Equal("Degraded", body.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive", Cancel)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Each_service_shows_its_api_reference_in_development(string service)
    {
        using var client = Client(service);

        var scalar = await client.GetAsync("/scalar/", Cancel);
        var openApi = await client.GetAsync("/openapi/v1.json", Cancel);

        Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
        Assert.Contains("text/html", scalar.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
    }

    [Fact]
    public async Task Admin_web_sends_a_stranger_to_its_sign_in_page()
    {
        using var client = hosts.Admin.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var home = await client.GetAsync("/", Cancel);
        var signIn = await client.GetAsync("/Account/SignIn", Cancel);
        var html = await signIn.Content.ReadAsStringAsync(Cancel);

        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("/Account/SignIn", home.Headers.Location?.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Contains("<h1>Sign in</h1>", html);
        Assert.Contains("__RequestVerificationToken", html);
    }

    [Fact]
    public void Every_integration_message_has_a_handler_in_some_service()
    {
        // Guards Wolverine's pitfall: under a test runner a wrong application assembly leaves handlers silently unrouted.
        var services = new[] { hosts.Runtime.Get<IWolverineRuntime>(), hosts.Tracking.Get<IWolverineRuntime>(), hosts.Worker.Get<IWolverineRuntime>() }
            .Cast<WolverineRuntime>();
        var messages = typeof(Queues).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(Queues).Namespace && t is { IsClass: true, IsAbstract: false } && t.Name != nameof(Queues));

        Assert.NotEmpty(messages);
        Assert.All(messages, message => Assert.True(
            services.Any(s => s.Handlers.CanHandle(message)), $"{message.Name} has no handler in any service"));
    }

    private HttpClient Client(string service) => service switch
    {
        "runtime" => hosts.Runtime.CreateClient(),
        "tracking" => hosts.Tracking.CreateClient(),
        "worker" => hosts.Worker.CreateClient(),
        _ => throw new ArgumentOutOfRangeException(nameof(service)),
    };
}
