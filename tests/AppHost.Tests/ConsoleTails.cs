using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.AppHost.Tests;

/// <summary>The last lines of each resource's console, as the dashboard shows them, to explain a failure.</summary>
public sealed class ConsoleTails : IDisposable
{
    private const int Kept = 200;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _lines = new();
    private readonly CancellationTokenSource _stop = new();

    /// <summary>
    /// Starts following the resources' consoles of a started application (from their first line:
    /// DCP keeps them). Not before StartAsync: a resource's logs are found by the names DCP gives
    /// its processes, which exist only once the start has begun.
    /// </summary>
    public static ConsoleTails Follow(DistributedApplication app, IEnumerable<string> resources)
    {
        var tails = new ConsoleTails();
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var resource in resources)
        {
            var lines = tails._lines.GetOrAdd(resource, _ => new ConcurrentQueue<string>());
            // By the model's resource: DCP names its processes (and their logs) with a suffix of its own.
            var model = app.Resource(resource);
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in logs.WatchAsync(model).WithCancellation(tails._stop.Token))
                    {
                        foreach (var line in batch)
                        {
                            lines.Enqueue(line.Content);
                            while (lines.Count > Kept) lines.TryDequeue(out _);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
        return tails;
    }

    public string Tail(string resource, int count = 60) =>
        _lines.TryGetValue(resource, out var lines) ? string.Join('\n', lines.TakeLast(count)) : "";

    public string TailsOf(IEnumerable<string> resources) => string.Join('\n', resources.Select(r => $"--- {r} ---\n{Tail(r)}"));

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
