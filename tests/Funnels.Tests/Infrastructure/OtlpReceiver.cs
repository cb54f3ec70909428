using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// An OTLP/HTTP collector stand-in on a loopback port (what the Aspire dashboard is to a service):
/// accepts every POST /v1/{traces,metrics,logs} and keeps the traces' spans (service, name, trace,
/// span and parent ids), read from the protobuf body. Shared as source with AppHost.Tests.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    /// <summary>One span; the ids in lower-case hex, ParentSpanId empty for a trace's root.</summary>
    public sealed record Span(string ServiceName, string Name, string TraceId, string SpanId, string ParentSpanId);

    public ConcurrentQueue<Span> Spans { get; } = new();

    private OtlpReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in TraceRequest.Spans(body.ToArray()))
            {
                Spans.Enqueue(span);
            }
            return Results.Bytes([], "application/x-protobuf");
        });
        // Metrics and logs arrive too; accepted, not read.
        _app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
    }

    public string Endpoint => _app.Urls.First();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        await receiver._app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>
    /// Just enough of OTLP's ExportTraceServiceRequest: resource_spans (1) holding resource (1) with its
    /// attributes (1: key 1, value 2 whose string_value is 1) and scope_spans (2) holding spans (2):
    /// trace_id 1, span_id 2, parent_span_id 4, name 5.
    /// </summary>
    private static class TraceRequest
    {
        public static IEnumerable<Span> Spans(byte[] request)
        {
            foreach (var resourceSpans in Fields(request, 1))
            {
                var service = Fields(resourceSpans, 1).SelectMany(resource => Fields(resource, 1))
                    .Where(attribute => Text(attribute, 1) == "service.name")
                    .Select(attribute => Fields(attribute, 2).Select(value => Text(value, 1)).FirstOrDefault())
                    .FirstOrDefault() ?? "";
                foreach (var span in Fields(resourceSpans, 2).SelectMany(scope => Fields(scope, 2)))
                {
                    yield return new Span(service, Text(span, 5) ?? "", Hex(span, 1), Hex(span, 2), Hex(span, 4));
                }
            }
        }

        private static string Hex(byte[] message, int field) =>
            Fields(message, field).Select(Convert.ToHexStringLower).FirstOrDefault() ?? "";

        private static string? Text(byte[] message, int field) =>
            Fields(message, field).Select(bytes => System.Text.Encoding.UTF8.GetString(bytes)).FirstOrDefault();

        /// <summary>The length-delimited fields numbered <paramref name="field"/>; other wire types are skipped.</summary>
        private static List<byte[]> Fields(byte[] message, int field)
        {
            var found = new List<byte[]>();
            var at = 0;
            while (at < message.Length)
            {
                var key = Varint(message, ref at);
                switch ((int)(key & 7))
                {
                    case 0: Varint(message, ref at); break;
                    case 1: at += 8; break;
                    case 5: at += 4; break;
                    case 2:
                        var length = (int)Varint(message, ref at);
                        if ((int)(key >> 3) == field) found.Add(message[at..(at + length)]);
                        at += length;
                        break;
                    default: throw new InvalidDataException($"wire type {key & 7} at {at}");
                }
            }
            return found;
        }

        private static ulong Varint(byte[] message, ref int at)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = message[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
        }
    }
}
