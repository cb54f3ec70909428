using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Funnels.AppHost.Hosting.Servers;

/// <summary>Protocol-level readiness checks over a raw socket: no client library needed.</summary>
internal static class Probes
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>Redis answers <c>+PONG</c> once it accepts commands.</summary>
    public static async Task<bool> RedisPingAsync(int port, CancellationToken cancellationToken)
    {
        var reply = await ExchangeAsync(port, "PING\r\n"u8.ToArray(), cancellationToken);
        return reply is not null && Encoding.ASCII.GetString(reply).StartsWith("+PONG", StringComparison.Ordinal);
    }

    /// <summary>
    /// An AMQP 0-9-1 protocol header answered by a Connection.Start method frame (type 1):
    /// the broker has booted its listeners, which it does last.
    /// </summary>
    public static async Task<bool> AmqpHandshakeAsync(int port, CancellationToken cancellationToken)
    {
        var reply = await ExchangeAsync(port, "AMQP\0\0\u0009\u0001"u8.ToArray(), cancellationToken);
        return reply is { Length: > 0 } && reply[0] == 1;
    }

    private static async Task<byte[]?> ExchangeAsync(int port, byte[] request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(request, timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return buffer[..read];
        }
        catch (Exception e) when (e is SocketException or IOException
                                       || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }
}
