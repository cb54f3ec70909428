using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace Funnels.AppHost.Servers;

/// <summary>
/// The fixed loopback ports of a local run, away from each server's usual port so a system
/// instance or another checkout can run beside ours. Each moves with Funnels:Ports:&lt;Key&gt;
/// (in a shell: <c>export Funnels__Ports__RuntimeApi=6101</c>); Funnels:RandomPorts=true
/// (the tests) lets Aspire choose free ones. The dashboard's port is in launchSettings.json.
/// </summary>
public sealed class LocalPorts(IConfiguration configuration)
{
    /// <summary>Each port's key, default and the resource that listens on it.</summary>
    private static readonly Dictionary<string, (int Port, string Resource)> Defaults = new()
    {
        [nameof(Postgres)] = (54329, "postgres"),
        [nameof(RabbitMQ)] = (56729, "rabbitmq"),
        [nameof(RabbitMQDistribution)] = (56739, "rabbitmq (Erlang distribution)"),
        [nameof(RabbitMQEpmd)] = (43699, "rabbitmq-epmd"),
        [nameof(Redis)] = (63799, "redis"),
        [nameof(RuntimeApi)] = (5101, "runtime-api"),
        [nameof(TrackingApi)] = (5102, "tracking-api"),
        [nameof(MessagingWorker)] = (5103, "messaging-worker"),
        [nameof(AdminWeb)] = (5104, "admin-web"),
    };

    public static readonly string[] ServerKeys = [nameof(Postgres), nameof(RabbitMQ), nameof(RabbitMQDistribution), nameof(RabbitMQEpmd), nameof(Redis)];

    public static readonly string[] ServiceKeys = [nameof(RuntimeApi), nameof(TrackingApi), nameof(MessagingWorker), nameof(AdminWeb)];

    private readonly IConfigurationSection _ports = configuration.GetSection("Funnels:Ports");
    private readonly bool _random = configuration.GetValue<bool>("Funnels:RandomPorts");

    public int? Postgres => Port(nameof(Postgres));
    public int? RabbitMQ => Port(nameof(RabbitMQ));
    /// <summary>The broker node's Erlang distribution port.</summary>
    public int? RabbitMQDistribution => Port(nameof(RabbitMQDistribution));
    public int? RabbitMQEpmd => Port(nameof(RabbitMQEpmd));
    public int? Redis => Port(nameof(Redis));
    public int? RuntimeApi => Port(nameof(RuntimeApi));
    public int? TrackingApi => Port(nameof(TrackingApi));
    public int? MessagingWorker => Port(nameof(MessagingWorker));
    public int? AdminWeb => Port(nameof(AdminWeb));

    /// <summary>
    /// One line for each of these fixed ports that something already listens on (127.0.0.1).
    /// DCP does not say so: tried with a busy fixed port, a run neither started nor reported anything for 90 s.
    /// </summary>
    public IEnumerable<string> Busy(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            if (Port(key) is { } port && !IsFree(port))
            {
                yield return $"port {port} for {Defaults[key].Resource} is already in use (stop whatever holds it, "
                    + $"or set Funnels__Ports__{key}, or run with --Funnels:RandomPorts=true)";
            }
        }
    }

    private int? Port(string key) => _random ? null : _ports.GetValue(key, Defaults[key].Port);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }
}
