using Funnels.AppHost.Hosting.Processes;

namespace Funnels.AppHost.Hosting.Servers;

/// <summary>
/// A backing server run as a local foreground process on its own folder
/// (<c>&lt;DataRoot&gt;/&lt;name&gt;</c>) and loopback port. Starting returns only once it
/// answers a real request, so "started" and "healthy" are the same moment for servers.
/// </summary>
public abstract class ServerResource(string name) : Resource(name)
{
    private ChildProcess? process;
    private volatile bool stopping;
    private bool everStarted;

    /// <summary>The port clients connect to.</summary>
    public int Port => Ports[Name];

    /// <summary>Exactly what a referencing project receives as <c>ConnectionStrings__&lt;name&gt;</c>.</summary>
    public abstract string ConnectionString { get; }

    public override int? ProcessId => process is { HasExited: false } p ? p.Id : null;

    public override IReadOnlyList<Uri> Endpoints => [new Uri($"tcp://127.0.0.1:{Port}")];

    internal override IEnumerable<PortRequest> PortRequests => [new PortRequest(Name, DefaultPort)];

    /// <summary>For the missing-binary message: "PostgreSQL 15", and the apt package to install.</summary>
    private protected abstract string Product { get; }

    private protected abstract string Package { get; }

    private protected abstract int DefaultPort { get; }

    private protected abstract IEnumerable<string> RequiredExecutables { get; }

    private protected virtual TimeSpan ReadyTimeout => TimeSpan.FromSeconds(30);

    private protected virtual int StopSignal => Posix.SIGTERM;

    private protected virtual TimeSpan StopGrace => TimeSpan.FromSeconds(15);

    private protected string Folder => Path.Combine(Context.DataRoot, Name);

    /// <summary>
    /// Data left by an earlier run opens only with the password that run generated. If
    /// secrets.json lost it, say so on the first start rather than fail on authentication.
    /// </summary>
    private protected void CheckDataMatchesSecrets(string dataFolder, string secretKey)
    {
        if (!everStarted
            && Directory.Exists(dataFolder) && Directory.EnumerateFileSystemEntries(dataFolder).Any()
            && !Context.Secrets.Existed(secretKey))
        {
            throw new SetupException(
                $"{dataFolder} was made with a password {Path.Combine(Context.DataRoot, "secrets.json")} no longer holds — delete {Folder} to start afresh");
        }
    }

    internal override void CheckSetup()
    {
        foreach (var path in RequiredExecutables.Where(path => !File.Exists(path)))
        {
            throw new SetupException($"{Product} not found at {path} — install it: apt-get install -y {Package}");
        }
    }

    internal override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (process is { HasExited: false })
        {
            return;
        }

        stopping = false;
        ExitCode = null;
        State = ResourceState.Starting;
        try
        {
            await PrepareAsync(cancellationToken);
            everStarted = true;
            var child = ChildProcess.Start(CreateProcessSpec(), Log);
            process = child;
            _ = child.Exited.ContinueWith(exit => OnExited(child, exit.Result), TaskScheduler.Default);
            State = ResourceState.Running;
            await WaitUntilReadyAsync(child, cancellationToken);
            await AfterReadyAsync(cancellationToken);
            State = ResourceState.Healthy;
            Report($"healthy at 127.0.0.1:{Port}");
        }
        catch (Exception e) when (e is not SetupException)
        {
            State = ResourceState.FailedToStart;
            process?.Kill();
            if (e is OperationCanceledException or ResourceStartException)
            {
                throw;
            }

            throw new ResourceStartException(Name, e.Message, Log.Tail(20));
        }
    }

    internal override async Task StopAsync()
    {
        var child = process;
        stopping = true;
        if (child is null)
        {
            return; // never started: nothing of ours to stop
        }

        if (child.HasExited)
        {
            await AfterStopAsync();
            State = ResourceState.Stopped;
            return;
        }

        State = ResourceState.Stopping;
        ExitCode = await child.StopAsync(StopSignal, StopGrace);
        await AfterStopAsync();
        State = ResourceState.Stopped;
        Report("stopped");
    }

    internal override void Kill()
    {
        stopping = true;
        process?.Kill();
        // Briefly, so clean-up that needs it gone (epmd refuses -kill while a node is registered) can follow.
        process?.Exited.Wait(TimeSpan.FromSeconds(2));
    }

    /// <summary>Creates folders and first-run state (initdb, config files).</summary>
    private protected abstract Task PrepareAsync(CancellationToken cancellationToken);

    private protected abstract ProcessSpec CreateProcessSpec();

    /// <summary>One cheap readiness probe; polled every 100 ms until it answers true.</summary>
    private protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    private protected virtual Task AfterReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private protected virtual Task AfterStopAsync() => Task.CompletedTask;

    private async Task WaitUntilReadyAsync(ChildProcess child, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (!await IsReadyAsync(cancellationToken))
        {
            if (child.HasExited)
            {
                throw new ResourceStartException(Name, $"exited with code {child.Exited.Result} while starting", Log.Tail(20));
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new ResourceStartException(Name, $"not ready within {ReadyTimeout.TotalSeconds:0} s", Log.Tail(20));
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private void OnExited(ChildProcess child, int exitCode)
    {
        if (stopping || !ReferenceEquals(child, process) || State == ResourceState.FailedToStart)
        {
            return;
        }

        ExitCode = exitCode;
        State = ResourceState.Exited;
        Report($"exited unexpectedly with code {exitCode}");
    }
}
