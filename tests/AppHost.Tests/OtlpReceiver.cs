using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.AppHost.Tests;

/// <summary>One span as a collector receives it: which service sent it, its trace, its name.</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name);

/// <summary>
/// A stand-in OpenTelemetry collector on loopback: accepts OTLP/HTTP protobuf exports
/// (POST /v1/traces, /v1/metrics, /v1/logs, as the services' OTLP exporter sends them when
/// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf) and keeps the spans. The trace export is read
/// field by field with Google.Protobuf's reader: the OTLP message classes are not served here,
/// and only five fields of a span are needed.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public string Endpoint => _app.Urls.First();

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in ExportTraceServiceRequest(body.ToArray()))
            {
                receiver._spans.Enqueue(span);
            }
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        return receiver;
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static IEnumerable<ReceivedSpan> ExportTraceServiceRequest(byte[] message)
    {
        foreach (var (field, resourceSpans) in LengthDelimited(message))
        {
            if (field != 1)
            {
                continue;
            }
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var parts = LengthDelimited(resourceSpans).ToList();
            var service = parts.Where(p => p.Field == 1).Select(p => ServiceName(p.Bytes)).FirstOrDefault() ?? "";
            // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
            foreach (var span in parts.Where(p => p.Field == 2).SelectMany(p => LengthDelimited(p.Bytes)).Where(p => p.Field == 2))
            {
                // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; }
                var fields = LengthDelimited(span.Bytes).GroupBy(f => f.Field).ToDictionary(g => g.Key, g => g.First().Bytes);
                string Hex(int number) => fields.TryGetValue(number, out var b) ? Convert.ToHexStringLower(b) : "";
                yield return new ReceivedSpan(service, Hex(1), Hex(2), Hex(4),
                    fields.TryGetValue(5, out var name) ? System.Text.Encoding.UTF8.GetString(name) : "");
            }
        }
    }

    // Resource { repeated KeyValue attributes = 1; } KeyValue { string key = 1; AnyValue value = 2; } AnyValue { string string_value = 1; }
    private static string? ServiceName(byte[] resource) =>
        LengthDelimited(resource).Where(a => a.Field == 1).Select(a => LengthDelimited(a.Bytes).ToList())
            .Where(kv => kv.Any(f => f.Field == 1 && System.Text.Encoding.UTF8.GetString(f.Bytes) == "service.name"))
            .SelectMany(kv => kv.Where(f => f.Field == 2).SelectMany(f => LengthDelimited(f.Bytes)).Where(v => v.Field == 1))
            .Select(v => System.Text.Encoding.UTF8.GetString(v.Bytes)).FirstOrDefault();

    /// <summary>The length-delimited fields of a message (strings, bytes, sub-messages); other wire types are skipped.</summary>
    private static IEnumerable<(int Field, byte[] Bytes)> LengthDelimited(byte[] message)
    {
        var fields = new List<(int, byte[])>();
        var input = new CodedInputStream(message);
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes().ToByteArray()));
            }
            else
            {
                input.SkipLastField();
            }
        }
        return fields;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
