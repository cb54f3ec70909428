using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Security;

/// <summary>
/// An internal service stand-in on a loopback port: records every request by path and answers
/// with what the test mapped (an admin API, a redirector, a big or a slow answer).
/// </summary>
public sealed class LoopbackService : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Call(string Method, string Path);

    public ConcurrentQueue<Call> Calls { get; } = new();

    private LoopbackService(Action<WebApplication, LoopbackService> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Use(async (context, next) =>
        {
            Calls.Enqueue(new Call(context.Request.Method, context.Request.Path));
            await next(context);
        });
        map(_app, this);
    }

    public string BaseUrl => _app.Urls.First();

    public int Port => new Uri(BaseUrl).Port;

    public bool Called(string path) => Calls.Any(c => c.Path == path);

    public static async Task<LoopbackService> StartAsync(Action<WebApplication, LoopbackService> map)
    {
        var service = new LoopbackService(map);
        await service._app.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>A loopback port nothing listens on.</summary>
    public static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
