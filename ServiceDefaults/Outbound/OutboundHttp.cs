using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Funnels.ServiceDefaults.Outbound;

/// <summary>
/// What came back from an outbound request: the status and the first
/// <see cref="OutboundSettings.MaxResponseBytes"/> of the body, or an error that is either
/// <see cref="OutboundPolicy.Refused"/> or <see cref="OutboundHttp.Failed"/>, never more precise
/// (a closed port, a filtered one and a slow service look the same to the user).
/// </summary>
public sealed record OutboundResponse(int? StatusCode, string? Body, bool Truncated, string? Error, bool Refused)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// The one HTTP client for requests a user aimed (webhook endpoints, flow webhook nodes): the
/// <see cref="OutboundPolicy"/> checked again at send time and at connect time (whatever was checked
/// when the URL was saved), no proxy, no automatic redirects (a 3xx is the answer), a bounded time
/// and a bounded read. Without the shared resilience pipeline on purpose: each attempt is a
/// recorded, durable Wolverine retry instead.
/// </summary>
public sealed class OutboundHttp(OutboundPolicy policy, OutboundSettings settings) : IDisposable
{
    /// <summary>The error for every request that did not get an answer (no connection, no answer in time).</summary>
    public const string Failed = "failed: no answer (the connection failed or timed out)";

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = policy.ConnectAsync,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<OutboundResponse> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (policy.RefusalOf(request.RequestUri) is not null)
        {
            return new OutboundResponse(null, null, false, OutboundPolicy.Refused, true);
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(settings.TimeoutSeconds));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bounded.Token);
            var (body, truncated) = await ReadBoundedAsync(response, bounded.Token);
            return new OutboundResponse((int)response.StatusCode, body, truncated, null, false);
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            return new OutboundResponse(null, null, false, OutboundPolicy.Refused, true);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return new OutboundResponse(null, null, false, Failed, false);
        }
    }

    private async Task<(string Body, bool Truncated)> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var limit = settings.MaxResponseBytes;
        var buffer = new byte[limit + 1];
        var filled = 0;
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        int read;
        while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
        {
            filled += read;
        }
        // Disposing the response drops whatever is left unread (and the connection with it).
        var truncated = filled > limit;
        return (Encoding.UTF8.GetString(buffer, 0, Math.Min(filled, limit)), truncated);
    }

    private static bool IsRefusal(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is OutboundRefusedException) return true;
        }
        return false;
    }

    public void Dispose() => _http.Dispose();
}

public static class OutboundExtensions
{
    /// <summary>The outbound policy ("Outbound" configuration) and its client, registered once.</summary>
    public static IHostApplicationBuilder AddFunnelsOutbound(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(builder.Configuration.GetSection("Outbound").Get<OutboundSettings>() ?? new OutboundSettings());
        builder.Services.AddSingleton<OutboundResolver>();
        builder.Services.AddSingleton<OutboundPolicy>();
        builder.Services.AddSingleton<OutboundHttp>();
        return builder;
    }
}
