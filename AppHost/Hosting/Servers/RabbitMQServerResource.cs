using Funnels.AppHost.Hosting.Processes;

namespace Funnels.AppHost.Hosting.Servers;

/// <summary>
/// RabbitMQ 3.10 as its own Erlang node: a node name, distribution port, epmd port, cookie
/// (in HOME) and folders of its own, so it never meets a system broker or another checkout's.
/// The user <c>funnels</c> (administrator, all permissions on <c>/</c>) is declared as the
/// node's default user in its config file: the broker creates it on first boot, which saves
/// three rabbitmqctl runs (an Erlang VM each) on every start. guest is never used.
/// </summary>
public sealed class RabbitMQServerResource(string name) : ServerResource(name)
{
    public const string UserName = "funnels";

    public override string Kind => "rabbitmq";

    public override string ConnectionString => $"amqp://{UserName}:{Password}@127.0.0.1:{Port}/";

    public string NodeName => $"funnels-{Port}@localhost";

    public int DistributionPort => Ports[$"{Name}-dist"];

    public int EpmdPort => Ports[$"{Name}-epmd"];

    internal override IEnumerable<PortRequest> PortRequests =>
    [
        new PortRequest(Name, DefaultPorts.RabbitMQ),
        new PortRequest($"{Name}-dist", DefaultPorts.RabbitMQDistribution),
        // An epmd already on that port (ours, left by a killed run) is fine: the node joins it.
        new PortRequest($"{Name}-epmd", DefaultPorts.RabbitMQEpmd, CheckedBeforeStart: false),
    ];

    private protected override string Product => "RabbitMQ 3.10";

    private protected override string Package => "rabbitmq-server";

    private protected override int DefaultPort => DefaultPorts.RabbitMQ;

    private protected override IEnumerable<string> RequiredExecutables => [Server, Context.Options.Binaries.Epmd];

    private protected override TimeSpan ReadyTimeout => TimeSpan.FromSeconds(60);

    private protected override TimeSpan StopGrace => TimeSpan.FromSeconds(20);

    private string Password => Context.Secrets.Get(Name);

    private string Server => Path.Combine(Context.Options.Binaries.RabbitMQBin, "rabbitmq-server");

    private string Sub(string folder) => Path.Combine(Folder, folder);

    private protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        CheckDataMatchesSecrets(Path.Combine(Sub("mnesia"), NodeName), Name);
        foreach (var folder in new[] { "home", "mnesia", "log" })
        {
            Directory.CreateDirectory(Sub(folder));
        }

        await File.WriteAllTextAsync(Sub("enabled_plugins"), "[].", cancellationToken);
        await File.WriteAllTextAsync(Sub("rabbitmq-env.conf"), "", cancellationToken);
        await OwnerOnlyFile.WriteAllTextAsync(Sub("rabbitmq.conf"), $"""
            default_user = {UserName}
            default_pass = {Password}
            default_user_tags.administrator = true
            default_permissions.configure = .*
            default_permissions.read = .*
            default_permissions.write = .*
            log.console = true
            log.console.level = info
            log.file = false
            """, cancellationToken);
    }

    /// <summary>
    /// The rabbitmq-server script stays as a small shell parent of the VM and turns our
    /// SIGTERM into a clean broker shutdown; setsid keeps the terminal's SIGINT away from it.
    /// </summary>
    private protected override ProcessSpec CreateProcessSpec() => new(Server, [], Folder)
    {
        Environment = ErlangEnvironment(),
    };

    private protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Probes.AmqpHandshakeAsync(Port, cancellationToken);

    /// <summary>epmd daemonises itself, so it outlives the node unless told to go.</summary>
    private protected override async Task AfterStopAsync()
    {
        if (File.Exists(Context.Options.Binaries.Epmd))
        {
            await ExternalCommand.RunAsync(Context.Options.Binaries.Epmd, ["-port", EpmdPort.ToString(), "-kill"],
                CancellationToken.None, new Dictionary<string, string?> { ["ERL_EPMD_PORT"] = EpmdPort.ToString() });
        }
    }

    internal override void Kill()
    {
        base.Kill();
        AfterStopAsync().Wait(TimeSpan.FromSeconds(3));
    }

    private Dictionary<string, string?> ErlangEnvironment() => new()
    {
        ["HOME"] = Sub("home"),
        ["RABBITMQ_NODENAME"] = NodeName,
        ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_NODE_PORT"] = Port.ToString(),
        ["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(),
        ["ERL_EPMD_PORT"] = EpmdPort.ToString(),
        ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        ["RABBITMQ_MNESIA_BASE"] = Sub("mnesia"),
        ["RABBITMQ_LOG_BASE"] = Sub("log"),
        ["RABBITMQ_LOGS"] = "-",
        ["RABBITMQ_CONFIG_FILE"] = Sub("rabbitmq.conf"),
        ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Sub("advanced.config"),
        ["RABBITMQ_CONF_ENV_FILE"] = Sub("rabbitmq-env.conf"),
        ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Sub("enabled_plugins"),
        ["RABBITMQ_PID_FILE"] = Sub("rabbitmq.pid"),
        ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
    };
}
