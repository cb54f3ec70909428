using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Funnels.Bench;

/// <summary>
/// The whole topology of AppHost/Program.cs under Aspire, started by the AppHost's own Program
/// through Aspire.Hosting.Testing (DistributedApplicationTestingBuilder): DCP, the dashboard, the
/// three servers as executables and each service through <c>dotnet run --no-build</c> from its
/// Release build, on free loopback ports and a throw-away data folder, with two Messaging.Worker
/// instances declared (Funnels:MessagingWorkers=2; the second started only for its burst).
/// Configured from outside the way an operator would: public rate limits lifted, the Graph API
/// pointed at the bench's fake, logs at Warning.
/// </summary>
public sealed class BenchTopology : IAsyncDisposable
{
    public const string SecondWorker = "messaging-worker-2";
    public const string MetaAppSecret = "bench-meta-app-secret";
    /// <summary>The first admin AppHost seeds (its Program's adminEmail).</summary>
    public const string AdminEmail = "admin@funnels.local";
    private const string Unlimited = "1000000000";
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(5);
    private static readonly string[] Servers = ["funnels", "rabbitmq", "redis"];

    private readonly string dataRoot;
    private int disposed;

    private BenchTopology(string dataRoot, DistributedApplication app, string connectionString, string adminPassword, Uri? dashboard)
    {
        this.dataRoot = dataRoot;
        App = app;
        ConnectionString = connectionString;
        AdminPassword = adminPassword;
        Dashboard = dashboard;
        Database = NpgsqlDataSource.Create(connectionString);
        Processes = new TopologyProcesses(app);
    }

    public DistributedApplication App { get; }

    /// <summary>The funnels database's connection string (superuser postgres), as the services get it.</summary>
    public string ConnectionString { get; }

    public string AdminPassword { get; }

    /// <summary>The dashboard's login address (null with --no-dashboard).</summary>
    public Uri? Dashboard { get; }

    public NpgsqlDataSource Database { get; }

    public TopologyProcesses Processes { get; }

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

    /// <summary>
    /// The AppHost's arguments: free ports, a throw-away data folder, two workers, and every
    /// secret parameter given (so nothing is generated into, or read from, the AppHost's user secrets).
    /// </summary>
    public static string[] Arguments(string dataRoot, string adminPassword) =>
    [
        "--Funnels:RandomPorts=true",
        $"--Funnels:DataRoot={dataRoot}",
        "--Funnels:MessagingWorkers=2",
        $"--Parameters:admin-password={adminPassword}",
        $"--Parameters:auth-signing-key={Secret()}",
        $"--Parameters:auth-client-address-key={Secret()}",
        $"--Parameters:secrets-encryption-key={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
        $"--Parameters:postgres-password={Secret()}",
        $"--Parameters:rabbitmq-password={Secret()}",
        $"--Parameters:redis-password={Secret()}",
    ];

    private static string Secret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    public static async Task<BenchTopology> StartAsync(string graphBaseUrl, bool dashboard)
    {
        var dataRoot = Directory.CreateTempSubdirectory("funnels-bench-").FullName;
        var adminPassword = Secret();
        var echoLogs = Environment.GetEnvironmentVariable("BENCH_ECHO_LOGS") == "1";
        using var cancel = new CancellationTokenSource(StartBound);
        DistributedApplication? app = null;
        try
        {
            // AppHost's Program prints its sign-in hint on stdout, where the table goes: stderr instead.
            var stdout = Console.Out;
            Console.SetOut(Console.Error);
            IDistributedApplicationTestingBuilder builder;
            try
            {
                builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
                    new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard }, Arguments(dataRoot, adminPassword), cancel.Token);
            }
            finally
            {
                Console.SetOut(stdout);
            }
            builder.Services.AddSingleton<IHostLifetime, BenchLifetime>();
            var services = builder.Resources.OfType<ProjectResource>().Select(r => r.Name).ToHashSet();
            builder.Services.AddLogging(logging =>
            {
                logging.ClearProviders();
                logging.AddSimpleConsole(console => console.SingleLine = true);
                logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                // Aspire's own warnings always (a resource that fails to start says why); with
                // BENCH_ECHO_LOGS=1 also the services' console output (they log at Warning, and
                // Aspire reads each line as Information), the servers' warnings and errors, and
                // the servers' health checks failing while they start.
                logging.AddFilter((category, level) => category switch
                {
                    _ when category!.Contains(".Resources.", StringComparison.Ordinal) =>
                        echoLogs && (level >= LogLevel.Warning || services.Any(s => category.EndsWith(".Resources." + s, StringComparison.Ordinal))),
                    _ when category.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal) => echoLogs && level >= LogLevel.Warning,
                    _ => level >= LogLevel.Warning,
                });
            });
            foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
            {
                var resource = builder.CreateResourceBuilder(project);
                foreach (var (key, value) in Settings(graphBaseUrl))
                {
                    resource.WithEnvironment(key, value);
                }
            }

            app = await builder.BuildAsync(cancel.Token);
            await app.StartAsync(cancel.Token);
            foreach (var resource in Servers.Concat(services))
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancel.Token);
            }
            var connectionString = await app.GetConnectionStringAsync("funnels", cancel.Token)
                ?? throw new BenchSetupException("the funnels database has no connection string");
            var login = dashboard ? await app.GetDashboardUrlAsync(cancel.Token) : null;
            var topology = new BenchTopology(dataRoot, app, connectionString, adminPassword, login);

            // Runs start with one worker; the two-worker burst starts the second.
            await topology.StopServiceAsync(SecondWorker, cancel.Token);
            return topology;
        }
        catch (Exception e) when (e is OperationCanceledException or DistributedApplicationException or InvalidOperationException)
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
            throw new BenchSetupException(cancel.IsCancellationRequested
                ? $"the topology was not healthy within {StartBound.TotalMinutes:0} minutes (BENCH_ECHO_LOGS=1 shows the resources' logs)"
                : $"the topology did not start: {e.Message}", e);
        }
    }

    /// <summary>Starts a stopped service through Aspire's start command and waits until it is healthy.</summary>
    public async Task StartServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        await CommandAsync(name, KnownResourceCommands.StartCommand, cancellationToken);
        await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cancellationToken);
    }

    /// <summary>Stops a service through Aspire's stop command (as the dashboard's Stop button does).</summary>
    public async Task StopServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        await CommandAsync(name, KnownResourceCommands.StopCommand, cancellationToken);
        await App.ResourceNotifications.WaitForResourceAsync(name, KnownResourceStates.TerminalStates, cancellationToken);
    }

    private async Task CommandAsync(string name, string command, CancellationToken cancellationToken)
    {
        var resource = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == name);
        var result = await App.ResourceCommands.ExecuteCommandAsync(resource, command, cancellationToken);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{command} {name} failed: {result.Message}");
        }
    }

    /// <summary>A fresh workspace owned by the first admin, made through the real sign-in flow.</summary>
    public async Task<BenchWorkspace> WorkspaceAsync(string name)
    {
        using var runtime = Client("runtime-api");
        var token = await TokenAsync(runtime, new { email = AdminEmail, password = AdminPassword });
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
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        await Processes.DisposeAsync();
        await Database.DisposeAsync();
        await App.DisposeAsync();
        // A server may still be writing its last files as it shuts down: try again for a few seconds
        // (and leave the folder to /tmp's cleaning if it still fails).
        for (var attempt = 1; attempt <= 20 && Directory.Exists(dataRoot); attempt++)
        {
            try
            {
                Directory.Delete(dataRoot, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(500);
            }
        }
    }
}

/// <summary>The topology could not be started: the bench has nothing to measure.</summary>
public sealed class BenchSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A workspace of one round, with its owner's token for the three APIs.</summary>
public sealed record BenchWorkspace(BenchTopology Topology, Guid Id, string Token)
{
    public HttpClient Runtime() => Topology.Client("runtime-api", Token);

    public HttpClient Tracking() => Topology.Client("tracking-api", Token);

    public HttpClient Worker() => Topology.Client("messaging-worker", Token);
}
