extern alias runtime;
extern alias tracking;
using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Faults.Tests;

/// <summary>
/// Runtime.Api or Tracking.Api as its own OS process, started by the AppHost under Aspire as a local
/// run starts it (the project resource, configuration through environment variables), on the tests'
/// servers (Funnels:Servers=external) with the in-process hosts' settings: a test posts to it over
/// real HTTP, SIGKILLs it by the process id Aspire reports, and starts it again with Aspire's start
/// command. The in-process hosts keep running beside it (the worker handles what it publishes).
/// WorkerProcess does the same for Messaging.Worker.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    // The property DCP reports an executable's process id under (Aspire's KnownProperties.Executable.Pid).
    private const string PidProperty = "executable.pid";
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private readonly ConcurrentQueue<string> _log = new();
    private DistributedApplication _app = null!;
    private Task _logs = Task.CompletedTask;

    private ServiceProcess(string name, string project)
    {
        Name = name;
        Project = project;
    }

    /// <summary>The AppHost's resource name (runtime-api, tracking-api).</summary>
    public string Name { get; }

    /// <summary>The project's folder, which the service's command line names.</summary>
    private string Project { get; }

    public string Log => string.Join('\n', _log.TakeLast(40));

    public static Task<ServiceProcess> RuntimeAsync(Hosts hosts, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartAsync(hosts, "runtime-api", "Runtime.Api", ServiceHost<runtime::Program>.Settings(hosts.Servers),
            new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl });

    public static Task<ServiceProcess> TrackingAsync(Hosts hosts, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartAsync(hosts, "tracking-api", "Tracking.Api", ServiceHost<tracking::Program>.Settings(hosts.Servers), settings);

    private static async Task<ServiceProcess> StartAsync(
        Hosts hosts, string name, string project, Dictionary<string, string?> settings, IReadOnlyDictionary<string, string?>? extra)
    {
        using var cancel = new CancellationTokenSource(Bound);
        var servers = hosts.Servers;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
        [
            "--Funnels:Servers=external", "--Funnels:RandomPorts=true",
            $"--ConnectionStrings:funnels={servers.Postgres}", $"--ConnectionStrings:rabbitmq={servers.RabbitMq}", $"--ConnectionStrings:redis={servers.Redis}",
        ], cancel.Token);
        // Only this service runs as a process here: the others are the tests' in-process hosts.
        foreach (var other in builder.Resources.OfType<ProjectResource>().Where(p => p.Name != name).ToList())
        {
            builder.Resources.Remove(other);
        }
        var resource = builder.CreateResourceBuilder<ProjectResource>(name);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        foreach (var (key, value) in settings)
        {
            resource.WithEnvironment(key.Replace(":", "__"), value ?? "");
        }

        var service = new ServiceProcess(name, project) { _app = await builder.BuildAsync(cancel.Token) };
        service._logs = service.KeepLogAsync();
        await service._app.StartAsync(cancel.Token);
        await service._app.ResourceNotifications.WaitForResourceHealthyAsync(name, cancel.Token);
        return service;
    }

    /// <summary>
    /// A client of the service's http endpoint. A request the kill cuts off fails rather than hangs: while
    /// the service is down, Aspire's proxy in front of it holds a new connection rather than refusing it.
    /// </summary>
    public HttpClient CreateClient() => new() { BaseAddress = _app.GetEndpoint(Name, "http"), Timeout = TimeSpan.FromSeconds(15) };

    /// <summary>
    /// kill -9 of the service itself: no shutdown, no flush, no goodbye to the broker or the database.
    /// Aspire reports the pid of the `dotnet run` that launched the project; the service is its child.
    /// The process is found first and killed the moment <paramref name="when"/> returns (requests in
    /// flight: they must not finish while it is being looked up). Returns the killed pid.
    /// </summary>
    public async Task<int> KillAsync(Func<Task> when)
    {
        var launcher = await PidAsync();
        var pid = ChildProcessIds(launcher).Append(launcher)
            .First(id => File.ReadAllText($"/proc/{id}/cmdline").Contains(Project, StringComparison.Ordinal));
        using var process = Process.GetProcessById(pid);
        await when();
        process.Kill(); // SIGKILL on Unix
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return pid;
    }

    /// <summary>Once Aspire has seen the killed service end, starts it again (a new process) and waits until it is healthy.</summary>
    public async Task StartAgainAsync(int killed)
    {
        using var cancel = new CancellationTokenSource(Bound);
        await _app.ResourceNotifications.WaitForResourceAsync(Name, KnownResourceStates.TerminalStates, cancel.Token);
        await _app.RunCommandAsync(Name, KnownResourceCommands.StartCommand, cancel.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync(Name, cancel.Token);
        Assert.DoesNotContain(killed, ChildProcessIds(await PidAsync()));
    }

    private async Task<int> PidAsync()
    {
        using var cancel = new CancellationTokenSource(Bound);
        var running = await _app.ResourceNotifications.WaitForResourceAsync(Name,
            e => e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.Properties.Any(p => p.Name == PidProperty), cancel.Token);
        return Convert.ToInt32(running.Snapshot.Properties.First(p => p.Name == PidProperty).Value);
    }

    private static IEnumerable<int> ChildProcessIds(int parent) =>
        Directory.GetDirectories($"/proc/{parent}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse).ToList();

    private async Task KeepLogAsync()
    {
        var logs = _app.Services.GetRequiredService<ResourceLoggerService>();
        try
        {
            await foreach (var batch in logs.WatchAsync(Name))
            {
                foreach (var line in batch)
                {
                    _log.Enqueue(line.Content);
                }
                while (_log.Count > 200 && _log.TryDequeue(out _))
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The application stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _logs.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
    }
}
