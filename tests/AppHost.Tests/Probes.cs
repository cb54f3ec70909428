using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Funnels.AppHost.Tests;

/// <summary>What a client sees from outside: raw sockets, no AppHost internals.</summary>
internal static class Probes
{
    /// <summary>Sends Redis inline commands on one connection; returns the replies, one line each.</summary>
    public static async Task<string> RedisCommandsAsync(int port, IReadOnlyList<string> commands, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var replies = new List<string>();
        foreach (var command in commands)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), cancellationToken);
            replies.Add(await reader.ReadLineAsync(cancellationToken) ?? "(closed)");
        }
        return string.Join("\r\n", replies);
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

    /// <summary>Polls a condition until it holds, bounded in time.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan within, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out after {within.TotalSeconds:0} s waiting for {what}. {explain?.Invoke()}");
            await Task.Delay(200);
        }
    }
}
