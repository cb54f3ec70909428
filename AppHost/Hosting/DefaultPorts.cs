namespace Funnels.AppHost.Hosting;

/// <summary>
/// The fixed loopback ports a developer's topology uses when ports are not random.
/// They sit away from each server's usual port (5432, 5672, 6379, 4369) so a system
/// instance or another checkout's dev servers can run beside ours. Each can be moved
/// with configuration <c>Funnels:Ports:&lt;key&gt;</c> (env <c>Funnels__Ports__&lt;key&gt;</c>).
/// </summary>
public static class DefaultPorts
{
    public const int Postgres = 54329;
    public const int RabbitMQ = 56729;
    /// <summary>Erlang distribution port of the broker node (key <c>&lt;name&gt;-dist</c>).</summary>
    public const int RabbitMQDistribution = 56739;
    /// <summary>The broker's own epmd (key <c>&lt;name&gt;-epmd</c>).</summary>
    public const int RabbitMQEpmd = 43699;
    public const int Redis = 63799;
    public const int Dashboard = 18888;

    public const int RuntimeApi = 5101;
    public const int TrackingApi = 5102;
    public const int MessagingWorker = 5103;
    public const int AdminWeb = 5104;
}
