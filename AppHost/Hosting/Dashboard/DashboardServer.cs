using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Funnels.AppHost.Hosting.Dashboard;

/// <summary>The dashboard: one page, and the JSON it polls every two seconds.</summary>
internal sealed class DashboardServer(int port, Func<IReadOnlyList<Resource>> resources)
{
    private WebApplication? app;

    public int Port => port;

    public Uri Url => new($"http://127.0.0.1:{port}/");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        // AppHost decides when to stop (after the services); the dashboard must not react to Ctrl+C itself.
        builder.Services.AddSingleton<IHostLifetime, AppHostOwnsLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        app = builder.Build();
        app.MapGet("/", () => Results.Content(DashboardPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/api/resources", () => Results.Json(resources().Select(ResourceSnapshot.Of)));
        await app.StartAsync(cancellationToken);
    }

    public async Task StopAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
            app = null;
        }
    }

    private sealed class AppHostOwnsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>What the dashboard shows of one resource at one moment.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string Kind,
    string State,
    int? ExitCode,
    int RestartCount,
    int? ProcessId,
    IReadOnlyList<string> Endpoints,
    IReadOnlyList<string> Links,
    IReadOnlyList<string> Log)
{
    public static ResourceSnapshot Of(Resource resource) => new(
        resource.Name,
        resource.Kind,
        resource.State.ToString(),
        resource.ExitCode,
        resource.RestartCount,
        resource.ProcessId,
        resource.Endpoints.Select(e => e.ToString().TrimEnd('/')).ToArray(),
        resource is ProjectResource project
            ? new[] { "/", "/health", "/scalar" }.Select(path => new Uri(project.Endpoint, path).ToString()).ToArray()
            : [],
        resource.Log.Tail(200));
}
