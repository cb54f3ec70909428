using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Funnels.Tests.Infrastructure;

namespace Funnels.AppHost.Tests;

/// <summary>
/// What the dashboard's traces page shows, read from a collector of the test's own: the services
/// export to it exactly as they export to the Aspire dashboard (OTLP), only over http/protobuf.
/// </summary>
public sealed class TraceTests
{
    private static readonly TestParameters Parameters = TestParameters.New();
    private static string AdminPassword => Parameters.AdminPassword;
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_captured_lead_is_one_trace_from_the_public_post_in_runtime_api_to_the_workers_handler()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        var dataRoot = TestAppHost.NewDataRoot();
        using var deleted = new DataRootDeleted(dataRoot);
        // Every parameter given: nothing read from or written to the developer's user secrets.
        var builder = await TestAppHost.CreateBuilderAsync(dataRoot, Parameters, dashboard: false, Cancel);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.CreateResourceBuilder(project)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Endpoint)
                .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "500");
        }
        await using var app = await builder.BuildAsync(Cancel);
        using var started = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await app.StartAsync(started.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("runtime-api", started.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("messaging-worker", started.Token);

        using var runtime = app.CreateHttpClient("runtime-api");
        var slug = await SignupFunnel.PublishAsync(runtime, AdminPassword, "Traced");
        var accepted = await SignupFunnel.SubmitAsync(runtime, slug, "traced@example.com");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        // The public POST's server span is the trace's root; the worker's LeadCaptured handling must join it.
        var shared = await Until(() =>
        {
            var spans = collector.Spans.ToList();
            var posts = spans.Where(s => s.ServiceName == "runtime-api" && s.Name.StartsWith("POST", StringComparison.Ordinal) && s.Name.Contains("events", StringComparison.Ordinal))
                .Select(s => s.TraceId).ToHashSet();
            // The worker's spans arrive in batches: wait for its handling of the message, not only its delivery.
            return spans.Where(s => s.ServiceName == "messaging-worker" && posts.Contains(s.TraceId)
                    && s.Name.Contains("LeadCaptured", StringComparison.OrdinalIgnoreCase))
                .Select(s => s.TraceId).FirstOrDefault();
        }, () => $"a messaging-worker LeadCaptured span in the trace of the lead's POST; received: {Describe(collector.Spans)}");

        var trace = collector.Spans.Where(s => s.TraceId == shared).ToList();
        Assert.True(trace.Any(s => s.ServiceName == "runtime-api" && s.ParentSpanId.Length == 0), $"no runtime-api root span in {Describe(trace)}");
        Assert.True(trace.Any(s => s.ServiceName == "messaging-worker" && s.Name.Contains("LeadCaptured", StringComparison.OrdinalIgnoreCase)),
            $"no messaging-worker LeadCaptured span in {Describe(trace)}");
    }

    private static async Task<string> Until(Func<string?> found, Func<string> waitingFor)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (found() is { } value)
            {
                return value;
            }
            await Task.Delay(250, Cancel);
        }
        throw new TimeoutException($"Waited 2 minutes for {waitingFor()}");
    }

    private static string Describe(IEnumerable<OtlpReceiver.Span> spans) =>
        string.Join("; ", spans.GroupBy(s => s.ServiceName).Select(g => $"{g.Key}: {string.Join(", ", g.Select(s => s.ParentSpanId.Length == 0 ? $"{s.Name} (root)" : s.Name).Distinct().Take(15))}"));

    private sealed class DataRootDeleted(string dataRoot) : IDisposable
    {
        public void Dispose() => TestAppHost.DeleteQuietly(dataRoot);
    }
}
