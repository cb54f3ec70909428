namespace Funnels.AppHost.Hosting;

/// <summary>
/// Something AppHost starts and watches: a server or a project. Its name is the contract
/// with the services (<c>ConnectionStrings__&lt;name&gt;</c>, <c>services__&lt;name&gt;__http__0</c>).
/// </summary>
public abstract class Resource
{
    private readonly List<Resource> waitsFor = [];
    private volatile ResourceState state;
    private IReadOnlyDictionary<string, int> ports = new Dictionary<string, int>();
    private ResourceContext? context;

    protected Resource(string name) => Name = name;

    public string Name { get; }

    /// <summary>postgres, rabbitmq, redis or project.</summary>
    public abstract string Kind { get; }

    public ResourceState State
    {
        get => state;
        private protected set => state = value;
    }

    public int? ExitCode { get; private protected set; }

    public int RestartCount { get; private protected set; }

    /// <summary>The pid of the running process, if any.</summary>
    public abstract int? ProcessId { get; }

    /// <summary>Every port it listens on, by configuration key (its name, or name-dist, name-epmd).</summary>
    public IReadOnlyDictionary<string, int> Ports => ports;

    public abstract IReadOnlyList<Uri> Endpoints { get; }

    /// <summary>The tail of its console output.</summary>
    public LogTail Log { get; private set; } = new();

    public IReadOnlyList<Resource> WaitsFor => waitsFor;

    internal ResourceContext Context => context ?? throw new InvalidOperationException($"{Name} is not part of a built application");

    internal abstract IEnumerable<PortRequest> PortRequests { get; }

    internal void MarkWaiting() => State = ResourceState.Waiting;

    internal void AddWaitFor(Resource dependency)
    {
        if (!waitsFor.Contains(dependency))
        {
            waitsFor.Add(dependency);
        }
    }

    internal void Attach(ResourceContext resourceContext, IReadOnlyDictionary<string, int> assignedPorts)
    {
        context = resourceContext;
        ports = assignedPorts;
        Log = new LogTail(resourceContext.Options.LogTailLines);
        if (resourceContext.Options.WriteLogFiles)
        {
            Log.CopyToFile(Path.Combine(resourceContext.DataRoot, "logs", $"{Name}.log"));
        }
    }

    /// <summary>Throws a <see cref="SetupException"/> when the machine lacks what this resource needs.</summary>
    internal abstract void CheckSetup();

    /// <summary>Starts it; servers return once ready, projects once their process runs.</summary>
    internal abstract Task StartAsync(CancellationToken cancellationToken);

    internal abstract Task StopAsync();

    /// <summary>Last resort when AppHost itself is exiting: no waiting, no politeness.</summary>
    internal abstract void Kill();

    internal async Task WaitUntilHealthyAsync(string waiter, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Context.Options.WaitTimeout;
        while (State != ResourceState.Healthy)
        {
            if (State is ResourceState.FailedToStart or ResourceState.Stopped)
            {
                throw new ResourceStartException(waiter, $"waits for {Name}, which is {State}", Log.Tail(20));
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new ResourceStartException(
                    waiter,
                    $"gave up waiting: {Name} was not healthy within {Context.Options.WaitTimeout.TotalSeconds:0} s (it is {State})",
                    Log.Tail(20));
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>AppHost's own status line about this resource.</summary>
    private protected void Report(string message) => Context.Output.WriteLine($"{Name}: {message}");
}

/// <summary>What a built application shares with its resources.</summary>
internal sealed record ResourceContext(
    DistributedApplicationOptions Options,
    string DataRoot,
    string RepositoryRoot,
    string Configuration,
    Secrets Secrets,
    TextWriter Output,
    IReadOnlyDictionary<string, Func<string>> SharedEnvironment);
