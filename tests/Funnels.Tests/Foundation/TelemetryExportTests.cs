extern alias runtime;

using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Foundation;

/// <summary>
/// AppHost hands every service OTEL_EXPORTER_OTLP_ENDPOINT (the dashboard's) and OTEL_SERVICE_NAME (the
/// resource name); with them the service exports its traces over OTLP, and without them it exports nothing.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class TelemetryExportTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_service_given_an_otlp_endpoint_exports_the_traces_of_a_lead_under_its_service_name()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "runtime-api",
            // Export within a fraction of a second instead of the default five.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        using var client = runtime.CreateClient();

        var body = JsonSerializer.Serialize(new
        {
            publication_slug = funnel.Slug,
            event_type = "FORM_SUBMIT",
            payload = TestFunnel.Signup("otlp@example.com"),
        }, TestWorkspace.Json);
        var response = await client.PostAsync("/api/runtime/events/", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancel);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        // The request's own span (ASP.NET Core names it after the route), and Wolverine's publish of LeadCaptured.
        var spans = await Eventually.Until(() => Task.FromResult(
                receiver.Spans.Any(s => s.Name.StartsWith("POST ", StringComparison.Ordinal)) && receiver.Spans.Any(s => s.Name.Contains("LeadCaptured"))
                    ? receiver.Spans.ToList() : null),
            TimeSpan.FromSeconds(30), () => $"the lead's spans at the receiver (got: {string.Join(", ", receiver.Spans.Select(s => s.Name).Distinct())})");

        Assert.All(spans, span => Assert.Equal("runtime-api", span.ServiceName));
    }
}
