using System.Diagnostics;

namespace Funnels.AppHost.Hosting.Processes;

/// <summary>What to start: a program, its arguments, extra environment and working folder.</summary>
internal sealed record ProcessSpec(string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory)
{
    /// <summary>Variables set on top of AppHost's own environment; a null value removes one.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// A long-running child (a server or a service) whose output goes to a <see cref="LogTail"/>.
/// It starts through <c>setsid</c>, which execs in place (same pid) but gives the child its
/// own session: a terminal Ctrl+C then reaches AppHost alone, and AppHost stops things in
/// order, services before the servers they use. It also makes the child a group leader, so
/// a last-resort SIGKILL can take its helpers with it.
/// </summary>
internal sealed class ChildProcess
{
    private readonly TaskCompletionSource<int> exited;

    private ChildProcess(int id, TaskCompletionSource<int> exited)
    {
        Id = id;
        this.exited = exited;
    }

    public int Id { get; }

    /// <summary>Completes with the exit code when the process ends (pipes may still drain).</summary>
    public Task<int> Exited => exited.Task;

    public bool HasExited => exited.Task.IsCompleted;

    public static ChildProcess Start(ProcessSpec spec, LogTail log)
    {
        var info = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = spec.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(spec.FileName);
        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in spec.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Append(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Append(e.Data); };
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The Exited event fires when the process ends even if a daemon it spawned keeps
        // the output pipe open (epmd does), where WaitForExitAsync would wait for EOF.
        process.Exited += (_, _) => exited.TrySetResult(process.ExitCode);
        process.Start();
        var child = new ChildProcess(process.Id, exited);
        if (process.HasExited)
        {
            exited.TrySetResult(process.ExitCode); // it ended before the event was wired
        }
        // Servers never read stdin; closing it keeps them off the terminal.
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public void Signal(int signal)
    {
        if (!HasExited)
        {
            Posix.Signal(Id, signal);
        }
    }

    /// <summary>Asks politely with <paramref name="signal"/>, then kills the group after <paramref name="grace"/>.</summary>
    public async Task<int> StopAsync(int signal, TimeSpan grace)
    {
        Signal(signal);
        if (await Task.WhenAny(Exited, Task.Delay(grace)) != Exited)
        {
            Kill();
        }

        return await Exited;
    }

    /// <summary>SIGKILL to the child's process group (it leads one, thanks to setsid).</summary>
    public void Kill()
    {
        if (!HasExited)
        {
            Posix.Signal(-Id, Posix.SIGKILL);
            Posix.Signal(Id, Posix.SIGKILL);
        }
    }
}
