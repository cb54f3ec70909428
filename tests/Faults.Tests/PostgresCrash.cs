using System.Diagnostics;
using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// PostgreSQL crashes: kill -9 of the postmaster and, at once, of every process it started (the
/// backends, the WAL writer, the checkpointer), as a power cut or the OOM killer would leave it:
/// no shutdown checkpoint, no backend finishing what it was doing. The next start replays the WAL.
/// (The postmaster alone would leave orphaned backends attached to its shared memory, which the
/// next postmaster refuses to start beside.)
/// </summary>
internal static class PostgresCrash
{
    public static async Task KillAsync(Servers servers)
    {
        string data;
        await using (var connection = new NpgsqlConnection(servers.Postgres))
        {
            data = await connection.ExecuteScalarAsync<string>("SHOW data_directory") ?? throw new InvalidOperationException("no data_directory");
        }
        // postmaster.pid's first line is the postmaster's process id.
        var postmaster = int.Parse(File.ReadLines(Path.Combine(data, "postmaster.pid")).First());
        var children = ChildProcessIds(postmaster);
        Kill(postmaster);
        children.ForEach(Kill);
        // The runner (AppHost/Servers/postgres.sh) exits once its postmaster is gone.
        await servers.WaitUntilStoppedAsync("postgres");
    }

    private static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(); // SIGKILL on Unix
        }
        catch (ArgumentException)
        {
            // Already gone: a backend that saw its postmaster die and exited.
        }
    }

    private static List<int> ChildProcessIds(int parent) =>
        [.. Directory.GetDirectories($"/proc/{parent}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse)];
}
