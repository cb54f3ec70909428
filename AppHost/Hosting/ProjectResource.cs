using Funnels.AppHost.Hosting.Processes;
using Funnels.AppHost.Hosting.Servers;

namespace Funnels.AppHost.Hosting;

/// <summary>
/// One of our services, run as <c>dotnet &lt;Folder&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;Folder&gt;.dll</c>
/// from its project folder, so its content root and appsettings work as under <c>dotnet run</c>.
/// It is healthy while <c>GET /health</c> answers 200; when it dies on its own it is
/// restarted with back-off (1, 2, 4, 8, 16 s), at most <see cref="MaxRestarts"/> times.
/// </summary>
public sealed class ProjectResource(string name, string projectFolder) : Resource(name)
{
    public const int MaxRestarts = 5;
    public const string TargetFramework = "net10.0";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Dictionary<string, Func<string>> environment = new(StringComparer.Ordinal);
    private readonly List<Resource> references = [];
    private int? requestedPort;
    private ChildProcess? process;
    private CancellationTokenSource? supervision;
    private Task supervisor = Task.CompletedTask;

    public override string Kind => "project";

    /// <summary>Its folder under the repository root, also the name of its dll.</summary>
    public string ProjectFolder { get; } = projectFolder;

    public int Port => Ports[Name];

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public override IReadOnlyList<Uri> Endpoints => [Endpoint];

    public IReadOnlyList<Resource> References => references;

    public override int? ProcessId => process is { HasExited: false } p ? p.Id : null;

    public string AssemblyPath => Path.Combine(
        Context.RepositoryRoot, ProjectFolder, "bin", Context.Configuration, TargetFramework, $"{ProjectFolder}.dll");

    internal override IEnumerable<PortRequest> PortRequests => [new PortRequest(Name, requestedPort)];

    internal void UseHttpPort(int? port) => requestedPort = port;

    internal void AddReference(Resource resource)
    {
        if (!references.Contains(resource))
        {
            references.Add(resource);
        }
    }

    internal void SetEnvironment(string key, Func<string> value) => environment[key] = value;

    /// <summary>Exactly the variables this project is started with, on top of AppHost's own environment.</summary>
    public IReadOnlyDictionary<string, string> GetEnvironment()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["OTEL_SERVICE_NAME"] = Name,
        };
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } otlp)
        {
            variables["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }

        foreach (var reference in references)
        {
            switch (reference)
            {
                case ServerResource server:
                    variables[$"ConnectionStrings__{server.Name}"] = server.ConnectionString;
                    break;
                case ProjectResource project:
                    variables[$"services__{project.Name}__http__0"] = $"http://127.0.0.1:{project.Port}";
                    break;
            }
        }

        // Values are read now, so a generated secret is created only if someone uses it.
        foreach (var (key, value) in Context.SharedEnvironment.Concat(environment))
        {
            variables[key] = value();
        }

        // Generic-host settings follow the ASP.NET Core one unless set on their own.
        variables.TryAdd("DOTNET_ENVIRONMENT", variables["ASPNETCORE_ENVIRONMENT"]);
        return variables;
    }

    internal override void CheckSetup()
    {
        if (!File.Exists(AssemblyPath))
        {
            throw new SetupException($"{ProjectFolder} is not built: {AssemblyPath} is missing — build it: dotnet build Funnels.sln");
        }
    }

    internal override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!supervisor.IsCompleted)
        {
            return Task.CompletedTask;
        }

        if (Context.Options.EchoLogs)
        {
            Log.EchoTo(Context.Output, $"[{Name}] ");
        }

        ExitCode = null;
        State = ResourceState.Starting;
        Launch();
        supervision = new CancellationTokenSource();
        supervisor = SuperviseAsync(supervision.Token);
        return Task.CompletedTask;
    }

    internal override async Task StopAsync()
    {
        if (supervision is null)
        {
            return;
        }

        await supervision.CancelAsync();
        if (process is { HasExited: false } child)
        {
            State = ResourceState.Stopping;
            // Services shut down gracefully on SIGTERM (the generic host listens for it).
            ExitCode = await child.StopAsync(Posix.SIGTERM, TimeSpan.FromSeconds(10));
        }

        await supervisor;
        State = ResourceState.Stopped;
        Report("stopped");
    }

    internal override void Kill()
    {
        supervision?.Cancel();
        process?.Kill();
    }

    private void Launch()
    {
        var spec = new ProcessSpec(DotnetHost, [AssemblyPath], Path.Combine(Context.RepositoryRoot, ProjectFolder))
        {
            Environment = GetEnvironment().ToDictionary(pair => pair.Key, string? (pair) => pair.Value),
        };
        process = ChildProcess.Start(spec, Log);
        State = ResourceState.Running;
        Report($"started (pid {process.Id}) at {Endpoint}");
    }

    private async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await WatchHealthAsync(process!, cancellationToken);
                ExitCode = process!.Exited.Result;
                State = ResourceState.Exited;
                if (RestartCount >= MaxRestarts)
                {
                    Report($"exited with code {ExitCode}; not restarting after {MaxRestarts} restarts");
                    return;
                }

                var delay = TimeSpan.FromSeconds(Math.Pow(2, RestartCount));
                Report($"exited with code {ExitCode}; restarting in {delay.TotalSeconds:0} s");
                await Task.Delay(delay, cancellationToken);
                RestartCount++;
                Launch();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }
    }

    /// <summary>Polls /health until the process ends: quickly while it comes up, calmly once healthy.</summary>
    private async Task WatchHealthAsync(ChildProcess child, CancellationToken cancellationToken)
    {
        var wasHealthy = false;
        while (!child.HasExited)
        {
            var healthy = await IsHealthyAsync(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (child.HasExited)
            {
                break;
            }

            if (healthy && State != ResourceState.Healthy)
            {
                Report("healthy");
            }

            State = healthy ? ResourceState.Healthy : wasHealthy ? ResourceState.Unhealthy : ResourceState.Running;
            wasHealthy |= healthy;
            await Task.WhenAny(child.Exited, Task.Delay(healthy ? 2000 : 250, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(Endpoint, "/health"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>The dotnet host that runs AppHost, so services run on the same runtime.</summary>
    private static string DotnetHost { get; } =
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath!
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : "dotnet";
}
