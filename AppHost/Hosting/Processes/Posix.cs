using System.Runtime.InteropServices;

namespace Funnels.AppHost.Hosting.Processes;

/// <summary>
/// The two libc calls .NET does not offer: sending a chosen signal (Process.Kill is
/// SIGKILL only, but servers need SIGINT/SIGTERM to shut down cleanly) and asking
/// whether we run as root (PostgreSQL refuses to run as root).
/// </summary>
internal static class Posix
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public static bool IsRoot => geteuid() == 0;

    /// <summary>A negative pid signals the whole process group.</summary>
    public static void Signal(int pid, int signal) => _ = kill(pid, signal);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc")]
    private static extern uint geteuid();
}
