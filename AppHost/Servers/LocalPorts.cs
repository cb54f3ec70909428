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
    private readonly IConfigurationSection _ports = configuration.GetSection("Funnels:Ports");
    private readonly bool _random = configuration.GetValue<bool>("Funnels:RandomPorts");

    public int? Postgres => Port(nameof(Postgres), 54329);
    public int? RabbitMQ => Port(nameof(RabbitMQ), 56729);
    /// <summary>The broker node's Erlang distribution port.</summary>
    public int? RabbitMQDistribution => Port(nameof(RabbitMQDistribution), 56739);
    public int? RabbitMQEpmd => Port(nameof(RabbitMQEpmd), 43699);
    public int? Redis => Port(nameof(Redis), 63799);
    public int? RuntimeApi => Port(nameof(RuntimeApi), 5101);
    public int? TrackingApi => Port(nameof(TrackingApi), 5102);
    public int? MessagingWorker => Port(nameof(MessagingWorker), 5103);
    public int? AdminWeb => Port(nameof(AdminWeb), 5104);

    private int? Port(string key, int fixedPort) => _random ? null : _ports.GetValue(key, fixedPort);
}
