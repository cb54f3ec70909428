extern alias messaging;

using System.Net.Sockets;
using System.Reflection;
using Funnels.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime;
using Wolverine.Runtime.Handlers;
using Graph = messaging::Funnels.Messaging.Sending;
using Webhooks = messaging::Funnels.Messaging.Webhooks;

namespace Funnels.Tests.Messaging;

/// <summary>
/// Every other test shortens the retry schedules; these read the worker's Wolverine error rules as
/// they are configured when nothing overrides them, and compare them with the schedules the docs
/// give (docs/operations.md, docs/configuration.md, docs/whatsapp-and-flows.md#graph-api-errors).
/// </summary>
public sealed class RetryScheduleTests(Servers servers)
{
    private static readonly string DeadLetter = "dead letter";

    [Fact]
    public async Task Production_retry_schedules_are_the_documented_ones()
    {
        await using var worker = new UnstartedWorker(servers);
        var wolverine = worker.Services.GetRequiredService<WolverineOptions>();
        // WolverineOptions.HandlerGraph is internal; its rules (FailureRuleCollection) are public.
        var handlers = (HandlerGraph)typeof(WolverineOptions).GetProperty("HandlerGraph", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!
            .GetValue(wolverine)!;
        var failures = handlers.Failures;

        // Messaging__RetryCooldownMilliseconds: 100 ms, 500 ms, 2 s, then the dead letters.
        Assert.Equal(["retry inline after 00:00:00.1000000", "retry inline after 00:00:00.5000000", "retry inline after 00:00:02", DeadLetter],
            Schedule(failures, new InvalidOperationException("a handler's bug")));
        // Messaging__DatabaseRetryCooldownMilliseconds: 1 s, 2 s, 5 s, 10 s, 20 s, 30 s, then 1 min three times.
        Assert.Equal(
            new[] { "00:00:01", "00:00:02", "00:00:05", "00:00:10", "00:00:20", "00:00:30", "00:01:00", "00:01:00", "00:01:00" }
                .Select(d => $"retry inline after {d}").Append(DeadLetter),
            Schedule(failures, new NpgsqlException("the database is away", new SocketException())));
        // Webhooks__RetryDelayMilliseconds: 10 s, 1 min, 5 min, 30 min, 2 h, durably scheduled; a refused endpoint at once.
        Assert.Equal(
            new[] { "00:00:10", "00:01:00", "00:05:00", "00:30:00", "02:00:00" }.Select(d => $"schedule after {d}").Append(DeadLetter),
            Schedule(failures, new Webhooks.WebhookDeliveryFailed("500")));
        Assert.Equal([DeadLetter], Schedule(failures, new Webhooks.WebhookDeliveryRefused("a private address")));
        // WhatsApp__RetryDelayMilliseconds: 2 s, 10 s, 1 min, 5 min for Meta's transient errors.
        Assert.Equal(
            new[] { "00:00:02", "00:00:10", "00:01:00", "00:05:00" }.Select(d => $"schedule after {d}").Append(DeadLetter),
            Schedule(failures, new Graph.GraphApiTransientException("131000")));
        // Throttled sends back off by their own schedule (4 s doubling, capped at 5 min, 24 answers), then dead letters at once.
        Assert.Equal([DeadLetter], Schedule(failures, new Graph.GraphApiThrottledException("130429 past the retries")));
        var throttle = worker.Services.GetRequiredService<Graph.WhatsAppSendSettings>();
        Assert.Equal((4_000, 300_000, 24), (throttle.ThrottleBaseDelayMilliseconds, throttle.ThrottleMaxDelayMilliseconds, throttle.ThrottleRetries));
    }

    /// <summary>What the first matching error rule does on each attempt, up to the first dead letter.</summary>
    private static List<string> Schedule(FailureRuleCollection failures, Exception exception)
    {
        var steps = new List<string>();
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            var envelope = new Envelope { Attempts = attempt };
            // No rule matching is Wolverine's own dead letter (FailureRuleCollection.DetermineExecutionContinuation).
            var rule = failures.FirstOrDefault(r => r.TryCreateContinuation(exception, envelope, out _));
            var step = DeadLetter;
            if (rule is not null && rule.TryCreateContinuation(exception, envelope, out var continuation))
            {
                step = Describe(continuation);
            }
            steps.Add(step);
            if (step == DeadLetter)
            {
                break;
            }
        }
        return steps;
    }

    // Wolverine's continuations are internal types: read by name and their Delay.
    private static string Describe(IContinuation continuation)
    {
        var delay = continuation.GetType().GetProperty("Delay", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)?.GetValue(continuation);
        return continuation.GetType().Name switch
        {
            "MoveToErrorQueue" => DeadLetter,
            "RetryInlineContinuation" => $"retry inline after {delay}",
            "ScheduledRetryContinuation" => $"schedule after {delay}",
            var other => other,
        };
    }

    /// <summary>
    /// Messaging.Worker built the way it runs (its appsettings.json and defaults) with none of the tests'
    /// timing overrides, and not started: nothing consumes the shared servers' messages.
    /// </summary>
    private sealed class UnstartedWorker(Servers servers) : WebApplicationFactory<messaging::Program>
    {
        private static readonly string[] TestTimings =
            ["Messaging:", "Webhooks:", "WhatsApp:RetryDelayMilliseconds", "WhatsApp:Throttle"];

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in ServiceHost<messaging::Program>.Settings(servers)
                         .Where(s => s.Value is not null && !TestTimings.Any(s.Key.StartsWith)))
            {
                builder.UseSetting(key, value);
            }
        }

        protected override IHost CreateHost(IHostBuilder builder) => new Built(builder.Build());
    }

    /// <summary>A built host never started: stopping it has nothing to stop (Host.StopAsync would fail on it).</summary>
    private sealed class Built(IHost host) : IHost
    {
        public IServiceProvider Services => host.Services;

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public void Dispose() => host.Dispose();
    }
}
