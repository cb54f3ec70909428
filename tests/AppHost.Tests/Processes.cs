using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Funnels.AppHost.Tests;

/// <summary>A process as /proc shows it; its start time tells it apart from a later one with the same pid.</summary>
public sealed record ProcessEntry(int Pid, int ParentPid, ulong StartTime, string Command)
{
    public override string ToString() => $"{Pid} {Command}";
}

/// <summary>
/// Processes from /proc, no AppHost internals. DCP detaches from whoever starts it (its parent
/// is then init), so a run's processes are AppHost's descendants plus the tree of the DCP
/// started with <c>--monitor &lt;AppHost's pid&gt;</c>: the servers, the dashboard, the services.
/// </summary>
internal static partial class Processes
{
    /// <summary>Every live (not zombie) process.</summary>
    public static IReadOnlyList<ProcessEntry> All() =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => Read(int.Parse(name!)))
            .OfType<ProcessEntry>()
            .ToArray();

    /// <summary>The processes a run of AppHost owns: its descendants and the trees of the DCP instances that monitor it.</summary>
    public static IReadOnlyList<ProcessEntry> OfAppHost(int appHostPid)
    {
        var all = All();
        var roots = all.Where(p => p.Pid == appHostPid || Monitors(p, appHostPid)).Select(p => p.Pid).ToHashSet();
        var tree = new List<ProcessEntry>();
        var frontier = new Queue<int>(roots);
        var children = all.ToLookup(p => p.ParentPid);
        tree.AddRange(all.Where(p => roots.Contains(p.Pid)));
        while (frontier.TryDequeue(out var pid))
        {
            foreach (var child in children[pid])
            {
                tree.Add(child);
                frontier.Enqueue(child.Pid);
            }
        }
        return tree;
    }

    public static bool IsAlive(ProcessEntry process) => Read(process.Pid) is { } now && now.StartTime == process.StartTime;

    /// <summary>Waits (bounded) for every one of the processes to end; returns those still alive at the bound.</summary>
    public static async Task<IReadOnlyList<ProcessEntry>> SurvivorsAsync(IReadOnlyCollection<ProcessEntry> processes, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var alive = processes.Where(IsAlive).ToArray();
            if (alive.Length == 0 || DateTime.UtcNow > deadline) return alive;
            await Task.Delay(250);
        }
    }

    /// <summary>Waits (bounded) until the run's processes include one whose command line contains each of the words.</summary>
    public static async Task<IReadOnlyList<ProcessEntry>> UntilRunningAsync(Func<IReadOnlyList<ProcessEntry>> processes, IReadOnlyList<string> words, TimeSpan within, Func<string> explain)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var now = processes();
            var missing = words.Where(w => !now.Any(p => p.Command.Contains(w, StringComparison.Ordinal))).ToArray();
            if (missing.Length == 0) return now;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"After {within.TotalSeconds:0} s no process runs {string.Join(", ", missing)}; running:\n{string.Join('\n', now)}\n{explain()}");
            }
            await Task.Delay(500);
        }
    }

    /// <summary>SIGKILL to each that still runs (a failed test's cleanup).</summary>
    public static void KillQuietly(IEnumerable<ProcessEntry> processes)
    {
        foreach (var process in processes.Where(IsAlive))
        {
            kill(process.Pid, SIGKILL);
        }
    }

    public static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static bool Monitors(ProcessEntry process, int pid)
    {
        var args = process.Command.Split(' ');
        var at = Array.IndexOf(args, "--monitor");
        return at >= 0 && at + 1 < args.Length && args[at + 1] == pid.ToString() && Path.GetFileName(args[0]) == "dcp";
    }

    private static ProcessEntry? Read(int pid)
    {
        try
        {
            // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] == "Z") return null;
            var command = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid}/cmdline")).Replace('\0', ' ').Trim();
            return new ProcessEntry(pid, int.Parse(fields[1]), ulong.Parse(fields[19]), command);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // it ended while we looked
        }
    }
}

/// <summary>`dotnet run --project AppHost --no-build -- ARGS` as a person starts it, its output kept.</summary>
internal sealed class AppHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private AppHostProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public static AppHostProcess Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = TestAppHost.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["run", "--project", "AppHost", "--no-build", "--", .. args])
        {
            start.ArgumentList.Add(arg);
        }
        var process = new Process { StartInfo = start };
        var run = new AppHostProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (run._stdout) run._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (run._stderr) run._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return run;
    }

    /// <summary>The AppHost process `dotnet run` started (its child), once it exists.</summary>
    public async Task<int> AppHostPidAsync(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var child = Processes.All().FirstOrDefault(p => p.ParentPid == Pid && p.Command.Split(' ')[0].EndsWith("/AppHost", StringComparison.Ordinal));
            if (child is not null) return child.Pid;
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"dotnet run started no AppHost (exited: {_process.HasExited}).\n{Stdout}\n{Stderr}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Waits (bounded) for `dotnet run` to end; its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan within)
    {
        using var cancel = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"dotnet run still runs after {within.TotalSeconds:0} s.\n{Stdout}\n{Stderr}");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
