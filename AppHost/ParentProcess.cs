using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Funnels.AppHost;

/// <summary>
/// `dotnet run --project AppHost` runs AppHost as its child. SIGTERM and Ctrl+C reach AppHost, which
/// stops everything; but when `dotnet run` itself is killed (SIGKILL: `kill -9`, an IDE's stop
/// button, the OOM killer) AppHost is orphaned and keeps every server and service running, and DCP,
/// which watches AppHost's PID, sees nothing wrong. So AppHost started by `dotnet run` stops itself,
/// as on Ctrl+C, within a second or two of that parent's end. Started any other way, nothing changes.
/// </summary>
internal static class ParentProcess
{
    public static void StopWhenDotnetRunEnds(DistributedApplication app)
    {
        if (!OperatingSystem.IsLinux() || ParentPid() is var parent && (parent <= 1 || !IsDotnetRun(parent)))
        {
            return;
        }
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(lifetime.ApplicationStopping))
                {
                    if (ParentPid() != parent)
                    {
                        Console.Error.WriteLine($"error: dotnet run (pid {parent}) ended without stopping AppHost: stopping everything.");
                        lifetime.StopApplication();
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // AppHost is stopping anyway.
            }
        });
    }

    /// <summary>Whether a process is the .NET SDK's `dotnet run` (its command line: dotnet, then run among its arguments).</summary>
    private static bool IsDotnetRun(int pid)
    {
        try
        {
            var argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return Path.GetFileName(argv[0]) == "dotnet" && argv.Skip(1).Take(3).Contains("run");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>This process's parent now (an orphan's is 1 or a subreaper's).</summary>
    private static int ParentPid()
    {
        // /proc/self/stat: pid (comm) state ppid …; comm may hold spaces and parentheses.
        var stat = File.ReadAllText("/proc/self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
    }
}
