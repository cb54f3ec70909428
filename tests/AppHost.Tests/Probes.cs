using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Funnels.AppHost.Tests;

/// <summary>What a client sees from outside: raw sockets and /proc, no AppHost internals.</summary>
internal static class Probes
{
    public static async Task<string> RedisCommandAsync(int port, string command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd();
    }

    public static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Live (not zombie) processes of a session. AppHost starts every child through setsid,
    /// so a child's pid is its session id and everything it spawned stays in that session.
    /// </summary>
    public static IReadOnlyList<int> LiveProcessesInSession(int sessionId) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => (Pid: int.Parse(name!), Stat: ReadStat(name!)))
            .Where(p => p.Stat is { } stat && stat.State != "Z" && stat.Session == sessionId)
            .Select(p => p.Pid)
            .ToArray();

    public static bool IsAlive(int pid) => ReadStat(pid.ToString()) is { State: not "Z" };

    private static (string State, int Session)? ReadStat(string pid)
    {
        try
        {
            // Fields after "(comm)": state ppid pgrp session ...
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0], int.Parse(fields[3]));
        }
        catch (IOException)
        {
            return null; // it ended while we looked
        }
    }
}
