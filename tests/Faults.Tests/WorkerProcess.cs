extern alias messaging;
using System.Diagnostics;
using Funnels.AppHost.Hosting;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// Messaging.Worker as its own OS process, started by the AppHost library exactly as AppHost
/// starts it (its built dll, configuration through environment variables), so a test can SIGKILL
/// it. Its settings are the in-process test hosts' (ServiceHost.Settings) on the same servers.
/// Like AppHost, the library restarts a service that died on its own (after 1 s the first time).
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private const string Name = "messaging-worker";
    private readonly string _dataRoot = Directory.CreateTempSubdirectory("funnels-faults-worker-").FullName;
    private DistributedApplication _app = null!;

    private Resource Worker => _app.GetResource(Name);

    public int ProcessId => Worker.ProcessId ?? throw new InvalidOperationException($"{Name} is not running: {Log}");

    public string Log => string.Join('\n', Worker.Log.Tail(40));

    public static async Task<WorkerProcess> StartAsync(Hosts hosts)
    {
        var worker = new WorkerProcess();
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DataRoot = worker._dataRoot,
            UseRandomPorts = true,
            DashboardPort = 0,
            EchoLogs = false,
            Output = TextWriter.Null,
        });
        var project = builder.AddProject(Name, "Messaging.Worker").WithHttpEndpoint();
        var settings = ServiceHost<messaging::Program>.Settings(hosts.Servers);
        settings["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl;
        settings["WhatsApp:AccessToken"] = FakeGraphApi.AccessToken;
        foreach (var (key, value) in settings)
        {
            project.WithEnvironment(key.Replace(":", "__"), value ?? "");
        }
        worker._app = builder.Build();
        await worker._app.StartAsync(TestContext.Current.CancellationToken);
        await worker._app.WaitForResourceHealthyAsync(Name, TestContext.Current.CancellationToken);
        return worker;
    }

    /// <summary>kill -9: no shutdown, no flush, no goodbye to the broker or the database. Returns the killed pid.</summary>
    public int Kill()
    {
        var pid = ProcessId;
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
        process.WaitForExit();
        return pid;
    }

    /// <summary>Waits until the library has started a new process (not <paramref name="killed"/>) and it answers /health.</summary>
    public async Task WaitUntilRestartedAsync(int killed)
    {
        await Eventually.Until(() => Task.FromResult(Worker.ProcessId is { } pid && pid != killed ? "restarted" : null),
            TimeSpan.FromSeconds(30), $"{Name} to be started again");
        await _app.WaitForResourceHealthyAsync(Name, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_dataRoot, recursive: true);
        }
        catch (IOException)
        {
            // In /tmp anyway.
        }
    }
}
