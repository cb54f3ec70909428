extern alias messaging;
using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Faults.Tests;

/// <summary>
/// Messaging.Worker as its own OS process, started by the AppHost under Aspire exactly as a local
/// run starts it (the same project resource, configuration through environment variables), on the
/// tests' servers (Funnels:Servers=external) with the in-process hosts' settings, so that a test
/// can SIGKILL it by the process id Aspire reports, and start it again with Aspire's start command.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private const string Name = "messaging-worker";
    // The property DCP reports an executable's process id under (Aspire's KnownProperties.Executable.Pid).
    private const string PidProperty = "executable.pid";
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private readonly ConcurrentQueue<string> _log = new();
    private DistributedApplication _app = null!;
    private Task _logs = Task.CompletedTask;

    public string Log => string.Join('\n', _log.TakeLast(40));

    public static async Task<WorkerProcess> StartAsync(Hosts hosts)
    {
        using var cancel = new CancellationTokenSource(Bound);
        var servers = hosts.Servers;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
        [
            "--Funnels:Servers=external", "--Funnels:RandomPorts=true",
            $"--ConnectionStrings:funnels={servers.Postgres}", $"--ConnectionStrings:rabbitmq={servers.RabbitMq}", $"--ConnectionStrings:redis={servers.Redis}",
        ], cancel.Token);
        // Only the worker runs as a process here: the other services are the tests' in-process hosts.
        foreach (var other in builder.Resources.OfType<ProjectResource>().Where(p => p.Name != Name).ToList())
        {
            builder.Resources.Remove(other);
        }
        var project = builder.CreateResourceBuilder<ProjectResource>(Name);
        var settings = ServiceHost<messaging::Program>.Settings(servers);
        settings["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl;
        settings["WhatsApp:AccessToken"] = FakeGraphApi.AccessToken;
        foreach (var (key, value) in settings)
        {
            project.WithEnvironment(key.Replace(":", "__"), value ?? "");
        }

        var worker = new WorkerProcess { _app = await builder.BuildAsync(cancel.Token) };
        worker._logs = worker.KeepLogAsync();
        await worker._app.StartAsync(cancel.Token);
        await worker._app.ResourceNotifications.WaitForResourceHealthyAsync(Name, cancel.Token);
        return worker;
    }

    /// <summary>
    /// kill -9 of the worker itself: no shutdown, no flush, no goodbye to the broker or the database.
    /// Aspire reports the pid of the `dotnet run` that launched the project; the worker is its child.
    /// Returns the killed pid.
    /// </summary>
    public async Task<int> KillAsync()
    {
        var launcher = await PidAsync();
        var pid = ChildProcessIds(launcher).Append(launcher)
            .First(id => File.ReadAllText($"/proc/{id}/cmdline").Contains("Messaging.Worker", StringComparison.Ordinal));
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return pid;
    }

    /// <summary>Once Aspire has seen the killed worker end, starts it again (a new process) and waits until it is healthy.</summary>
    public async Task StartAgainAsync(int killed)
    {
        using var cancel = new CancellationTokenSource(Bound);
        await _app.ResourceNotifications.WaitForResourceAsync(Name, KnownResourceStates.TerminalStates, cancel.Token);
        await _app.RunCommandAsync(Name, KnownResourceCommands.StartCommand, cancel.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync(Name, cancel.Token);
        Assert.DoesNotContain(killed, ChildProcessIds(await PidAsync()));
    }

    /// <summary>The running worker's own process id (the child of the `dotnet run` Aspire reports): the one its runs record in executed_by.</summary>
    public async Task<int> ProcessIdAsync()
    {
        var launcher = await PidAsync();
        return ChildProcessIds(launcher).Append(launcher)
            .First(id => File.ReadAllText($"/proc/{id}/cmdline").Contains("Messaging.Worker", StringComparison.Ordinal));
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
