using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace Funnels.AppHost.Hosting;

/// <summary>One port a resource listens on. <see cref="Key"/> is the configuration key that moves it.</summary>
public sealed record PortRequest(string Key, int? DefaultPort, bool CheckedBeforeStart = true);

/// <summary>
/// Every resource listens on 127.0.0.1 only. Ports are decided once, when the app is built,
/// so connection strings are known before anything starts and a resource stopped and
/// started again comes back on the same port.
/// </summary>
internal static class LoopbackPorts
{
    public static Dictionary<string, int> Assign(IEnumerable<PortRequest> requests, bool random, IConfiguration configuration)
    {
        var assigned = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var request in requests)
        {
            assigned[request.Key] = random
                ? FindFree(assigned.Values)
                : configuration.GetValue<int?>($"Funnels:Ports:{request.Key}") ?? request.DefaultPort ?? FindFree(assigned.Values);
        }

        return assigned;
    }

    /// <summary>A port the kernel hands out now; nothing else in this app uses it.</summary>
    public static int FindFree(IEnumerable<int> taken)
    {
        var used = taken.ToHashSet();
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (!used.Contains(port))
            {
                return port;
            }
        }
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // Without SO_REUSEADDR, a port a listener holds (on 127.0.0.1 or 0.0.0.0) fails to bind.
            socket.ExclusiveAddressUse = false;
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static SetupException Busy(int port, string resource, string key) =>
        new($"port {port} for {resource} is already in use (stop whatever holds it, or set Funnels__Ports__{key})");
}
