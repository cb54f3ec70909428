extern alias messaging;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Funnels.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Security;

/// <summary>A webhook URL carrying a credential in its query string leaves it in no log line and no trace of the worker.</summary>
[Collection(ServicesCollection.Name)]
public sealed class SecretsInLogsTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_webhook_urls_query_string_is_neither_logged_nor_traced_even_when_deliveries_fail()
    {
        const string secret = "query-credential-0a1b2c3d";
        var logs = new CapturedLogs();
        var traced = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => traced.Enqueue(a.DisplayName + " " + string.Join(" ", a.TagObjects.Select(t => $"{t.Key}={t.Value}"))),
        };
        ActivitySource.AddActivityListener(listener);
        // This test's own worker, with every log it writes captured; the shared one stops taking deliveries meanwhile.
        await Hosts.StopWorkerAsync(hosts.Worker);
        await using var worker = new ServiceHost<messaging::Program>(hosts.Servers, new Dictionary<string, string?>
        {
            ["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl,
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        try
        {
            worker.StartServer();
            await using var receiver = await WebhookReceiver.StartAsync(500, 500);
            using var workspace = await TestWorkspace.CreateAsync(hosts);
            using var owner = worker.CreateAdminClient(workspace.Id);
            (await owner.PostAsJsonAsync("/api/messaging/webhooks", new { url = $"{receiver.Url}?token={secret}", events = new[] { "lead.captured" } }, Cancel))
                .EnsureSuccessStatusCode();
            var funnel = await TestFunnel.PublishAsync(workspace);

            (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("logged@example.com"))).EnsureSuccessStatusCode();

            // Two failed attempts (retried, logged as warnings) and the delivery.
            await Eventually.Until(() => Task.FromResult(receiver.Requests.Count >= 3 ? (bool?)true : null), TimeSpan.FromSeconds(60), "three attempts");
            await hosts.Servers.WebhookDeliveriesHandledAsync(workspace.Id);
            Assert.NotEmpty(logs.Lines);
            var leaked = logs.Lines.Concat(traced).Where(line => line.Contains(secret, StringComparison.Ordinal)).ToList();
            Assert.True(leaked.Count == 0, "the query string was written:\n" + string.Join("\n", leaked.Take(5)));
            // The failed attempts were logged, with the URL the logs may show.
            Assert.Contains(logs.Lines, line => line.Contains(receiver.Url + "?…", StringComparison.Ordinal));
        }
        finally
        {
            await hosts.RestartWorkerAsync();
        }
    }

    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
