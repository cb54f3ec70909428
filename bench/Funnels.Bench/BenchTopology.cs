using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Funnels.AppHost;
using Funnels.AppHost.Hosting;
using Npgsql;

namespace Funnels.Bench;

/// <summary>
/// The whole topology of FunnelsTopology (two Messaging.Worker instances declared, the second
/// started only for its burst), as child processes on random loopback ports and a throw-away
/// folder, configured from outside the way an operator would: public rate limits lifted, the
/// Graph API pointed at the bench's fake, logs at Warning.
/// </summary>
public sealed class BenchTopology : IAsyncDisposable
{
    public const string SecondWorker = "messaging-worker-2";
    public const string MetaAppSecret = "bench-meta-app-secret";
    private const string Unlimited = "1000000000";

    private readonly string dataRoot;

    private BenchTopology(string dataRoot, DistributedApplication app, FunnelsResources funnels)
    {
        this.dataRoot = dataRoot;
        App = app;
        Funnels = funnels;
        Database = NpgsqlDataSource.Create(app.GetConnectionString("postgres"));
    }

    public DistributedApplication App { get; }

    public FunnelsResources Funnels { get; }

    public NpgsqlDataSource Database { get; }

    /// <summary>The services' environment the bench adds: every value is ordinary configuration.</summary>
    public static IReadOnlyDictionary<string, string> Settings(string graphBaseUrl) => new Dictionary<string, string>
    {
        // One client address and a handful of slugs send everything: the per-IP and per-slug
        // limits would otherwise answer 429 within the first second.
        ["RateLimits__EventsPerIpPerMinute"] = Unlimited,
        ["RateLimits__EventsPerIpAndSlugPerMinute"] = Unlimited,
        ["RateLimits__TrackingPerIpPerMinute"] = Unlimited,
        ["RateLimits__SignInsPerIpPerMinute"] = "1000",
        ["WhatsApp__WebhooksPerIpPerMinute"] = Unlimited,
        // Meta's own per-number pace (80/s) is not what the burst measures; the fake answers at any pace.
        ["WhatsApp__SendsPerPhoneNumberPerSecond"] = "1000000",
        ["WhatsApp__AppSecret"] = MetaAppSecret,
        ["WhatsApp__VerifyToken"] = "bench-verify-token",
        ["WhatsApp__AccessToken"] = FakeGraphApi.AccessToken,
        ["WhatsApp__GraphBaseUrl"] = graphBaseUrl,
        // Per-request information logs would measure the console pipe, not the service.
        ["Logging__LogLevel__Default"] = "Warning",
    };

    public static async Task<BenchTopology> StartAsync(string graphBaseUrl)
    {
        var dataRoot = Directory.CreateTempSubdirectory("funnels-bench-").FullName;
        var echoLogs = Environment.GetEnvironmentVariable("BENCH_ECHO_LOGS") == "1";
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DataRoot = dataRoot,
            UseRandomPorts = true,
            DashboardPort = 0,
            // BENCH_ECHO_LOGS=1: the services' warnings and errors on stderr (they log at Warning here).
            EchoLogs = echoLogs,
            Output = echoLogs ? TextWriter.Synchronized(Console.Error) : TextWriter.Null,
        });
        var funnels = builder.AddFunnels(messagingWorkers: 2);
        foreach (var (key, value) in Settings(graphBaseUrl))
        {
            builder.WithEnvironment(key, value);
        }

        var app = builder.Build();
        try
        {
            await app.StartAsync();
            foreach (var resource in app.Resources)
            {
                await app.WaitForResourceHealthyAsync(resource.Name);
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        // Runs start with one worker; the two-worker burst starts the second.
        await app.StopResourceAsync(SecondWorker);
        return new BenchTopology(dataRoot, app, funnels);
    }

    /// <summary>A fresh workspace owned by the first admin, made through the real sign-in flow.</summary>
    public async Task<BenchWorkspace> WorkspaceAsync(string name)
    {
        using var runtime = Client("runtime-api");
        var token = await TokenAsync(runtime, new { email = Funnels.AdminEmail, password = Funnels.AdminPassword.Value });
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var created = await runtime.PostAsJsonAsync("/api/runtime/workspaces", new { name, slug = name + "-" + Guid.NewGuid().ToString("N")[..8] });
        await Http.EnsureAsync(created);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var switched = await TokenAsync(runtime, new { workspace_id = id }, "/api/runtime/auth/switch");
        return new BenchWorkspace(this, id, switched);
    }

    public HttpClient Client(string service, string? token = null)
    {
        var client = new HttpClient(Http.Handler, disposeHandler: false) { BaseAddress = App.GetEndpoint(service), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    private static async Task<string> TokenAsync(HttpClient client, object body, string path = "/api/runtime/auth/token")
    {
        var response = await client.PostAsJsonAsync(path, body, Http.Json);
        await Http.EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(dataRoot, recursive: true);
        }
        catch (IOException)
        {
            // A server may still be flushing; the folder is under /tmp.
        }
    }
}

/// <summary>A workspace of one round, with its owner's token for the three APIs.</summary>
public sealed record BenchWorkspace(BenchTopology Topology, Guid Id, string Token)
{
    public HttpClient Runtime() => Topology.Client("runtime-api", Token);

    public HttpClient Tracking() => Topology.Client("tracking-api", Token);

    public HttpClient Worker() => Topology.Client("messaging-worker", Token);
}
