using System.Runtime.ExceptionServices;
using Funnels.AppHost.Hosting.Dashboard;
using Funnels.AppHost.Hosting.Servers;

namespace Funnels.AppHost.Hosting;

/// <summary>
/// The built topology. StartAsync brings resources up in dependency order (each after the
/// resources it waits for are healthy, independent ones side by side); StopAsync takes
/// projects down first, then servers in reverse order, and leaves no process behind.
/// </summary>
public sealed partial class DistributedApplication : IAsyncDisposable
{
    private readonly ResourceContext context;
    private readonly List<Resource> resources;
    private readonly DashboardServer? dashboard;
    private readonly Lock gate = new();
    private Task? stopping;
    private bool started;

    internal DistributedApplication(ResourceContext context, List<Resource> startOrder, int? dashboardPort)
    {
        this.context = context;
        resources = startOrder;
        dashboard = dashboardPort is { } port ? new DashboardServer(port, () => resources) : null;
    }

    public static DistributedApplicationBuilder CreateBuilder(string[] args) =>
        CreateBuilder(new DistributedApplicationOptions { Args = args });

    public static DistributedApplicationBuilder CreateBuilder(DistributedApplicationOptions options) => new(options);

    /// <summary>Every resource, in the order they start.</summary>
    public IReadOnlyList<Resource> Resources => resources;

    public string DataRoot => context.DataRoot;

    public Uri? DashboardUrl => dashboard?.Url;

    public Resource GetResource(string name) =>
        resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidOperationException($"no resource named {name}; there are {string.Join(", ", resources.Select(r => r.Name))}");

    /// <summary>The exact string a referencing project receives as <c>ConnectionStrings__&lt;name&gt;</c>.</summary>
    public string GetConnectionString(string name) => GetResource(name) is ServerResource server
        ? server.ConnectionString
        : throw new InvalidOperationException($"{name} is a project; it has an endpoint, not a connection string");

    public Uri GetEndpoint(string name) => GetResource(name) switch
    {
        ProjectResource project => project.Endpoint,
        var resource => resource.Endpoints[0],
    };

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            if (started)
            {
                throw new InvalidOperationException("the application has already been started");
            }

            started = true;
        }

        CheckSetup();
        AppDomain.CurrentDomain.ProcessExit += KillEverything;
        if (dashboard is not null)
        {
            await dashboard.StartAsync(cancellationToken);
            context.Output.WriteLine($"Dashboard: {dashboard.Url.ToString().TrimEnd('/')}");
        }

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var starts = new Dictionary<Resource, Task>();
        foreach (var resource in resources)
        {
            starts[resource] = StartAfterDependenciesAsync(resource, starts, failed);
        }

        try
        {
            await Task.WhenAll(starts.Values);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            // The root cause, not a dependant's cancellation or a repeat of it.
            var cause = starts.Values.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }
    }

    /// <summary>Stops everything (idempotent): projects together, then servers last-declared first.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            return stopping ??= StopEverythingAsync();
        }
    }

    public Task StartResourceAsync(string name, CancellationToken cancellationToken = default) =>
        GetResource(name).StartAsync(cancellationToken);

    public Task StopResourceAsync(string name, CancellationToken cancellationToken = default) =>
        GetResource(name).StopAsync();

    /// <summary>Waits until the resource is healthy (up to the options' WaitTimeout).</summary>
    public Task WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken = default) =>
        GetResource(name).WaitUntilHealthyAsync("AppHost", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var resource in resources)
        {
            resource.Log.Dispose();
        }
    }

    /// <summary>Before anything starts: every binary and dll present, every fixed port free.</summary>
    private void CheckSetup()
    {
        foreach (var resource in resources)
        {
            resource.CheckSetup();
            foreach (var request in resource.PortRequests.Where(r => r.CheckedBeforeStart))
            {
                var port = resource.Ports[request.Key];
                if (!LoopbackPorts.IsFree(port))
                {
                    throw LoopbackPorts.Busy(port, resource.Name, request.Key);
                }
            }
        }

        if (dashboard is not null && !LoopbackPorts.IsFree(dashboard.Port))
        {
            throw LoopbackPorts.Busy(dashboard.Port, "the dashboard", "dashboard");
        }
    }

    private static async Task StartAfterDependenciesAsync(Resource resource, Dictionary<Resource, Task> starts, CancellationTokenSource failed)
    {
        try
        {
            if (resource.WaitsFor.Count > 0)
            {
                resource.MarkWaiting();
            }

            foreach (var dependency in resource.WaitsFor)
            {
                await starts[dependency];
                await dependency.WaitUntilHealthyAsync(resource.Name, failed.Token);
            }

            await resource.StartAsync(failed.Token);
        }
        catch
        {
            // One failure ends the whole start: nobody keeps waiting for a lost cause.
            await failed.CancelAsync();
            throw;
        }
    }

    private async Task StopEverythingAsync()
    {
        if (!started)
        {
            return;
        }

        await Task.WhenAll(resources.OfType<ProjectResource>().Select(StopQuietlyAsync));
        foreach (var server in resources.OfType<ServerResource>().Reverse())
        {
            await StopQuietlyAsync(server);
        }

        if (dashboard is not null)
        {
            await dashboard.StopAsync();
        }

        AppDomain.CurrentDomain.ProcessExit -= KillEverything;
    }

    private async Task StopQuietlyAsync(Resource resource)
    {
        try
        {
            await resource.StopAsync();
        }
        catch (Exception e)
        {
            // Shutdown goes on for the others; the process itself was killed regardless.
            context.Output.WriteLine($"{resource.Name}: stopping failed: {e.Message}");
        }
    }

    /// <summary>AppHost is exiting without StopAsync (an unhandled exception, a second Ctrl+C).</summary>
    private void KillEverything(object? sender, EventArgs e)
    {
        foreach (var resource in Enumerable.Reverse(resources))
        {
            resource.Kill();
        }
    }
}
