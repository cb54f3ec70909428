namespace Funnels.AppHost.Hosting;

public sealed class DistributedApplicationOptions
{
    /// <summary>Command-line arguments; <c>--data-root</c> and <c>--Funnels:Ports:&lt;key&gt;=N</c> are honoured.</summary>
    public string[] Args { get; init; } = [];

    /// <summary>Where servers keep their data, secrets and logs. Default: configuration
    /// <c>Funnels:DataRoot</c>, else <c>&lt;repository&gt;/.data</c> (kept between runs).</summary>
    public string? DataRoot { get; init; }

    /// <summary>Tests set this: every port becomes a free loopback port, so runs never collide.</summary>
    public bool UseRandomPorts { get; init; }

    /// <summary>0 turns the dashboard off; otherwise it is this port (or a random one with <see cref="UseRandomPorts"/>).</summary>
    public int DashboardPort { get; init; } = DefaultPorts.Dashboard;

    /// <summary>Build configuration whose output holds the service dlls. Default: the one AppHost was built with.</summary>
    public string? Configuration { get; init; }

    /// <summary>The folder holding Funnels.sln. Default: recorded in AppHost's assembly at build time.</summary>
    public string? RepositoryRoot { get; init; }

    public ServerBinaries Binaries { get; init; } = new();

    /// <summary>Write AppHost's status lines and each project's console output (prefixed by its name)
    /// to <see cref="Output"/>. Tests turn it off; everything stays in the log tails and files.</summary>
    public bool EchoLogs { get; init; } = true;

    /// <summary>Also append every resource's output to <c>&lt;DataRoot&gt;/logs/&lt;resource&gt;.log</c>.</summary>
    public bool WriteLogFiles { get; init; } = true;

    /// <summary>Where AppHost writes its status lines and echoed logs. Default: the console, or nowhere without EchoLogs.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>How long a WaitFor waits for its target to become healthy.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How many lines of each resource's output stay in memory for the dashboard and errors.</summary>
    public int LogTailLines { get; init; } = 500;
}

/// <summary>Where the Debian packages put the servers. Overridable so tests can point at nothing.</summary>
public sealed record ServerBinaries
{
    public string PostgresBin { get; init; } = "/usr/lib/postgresql/15/bin";
    public string RedisServer { get; init; } = "/usr/bin/redis-server";
    public string RabbitMQBin { get; init; } = "/usr/lib/rabbitmq/bin";
    public string Epmd { get; init; } = "/usr/bin/epmd";
}
