using System.Net;
using System.Net.Sockets;

namespace Funnels.ServiceDefaults.Outbound;

/// <summary>The host names an outbound request resolves with (tests inject their own).</summary>
public class OutboundResolver
{
    public virtual Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>An outbound request the policy refused: a target inside, or a scheme other than http(s).</summary>
public sealed class OutboundRefusedException() : Exception(OutboundPolicy.Refused);

/// <summary>
/// Decides whether the product may call a URL a user gave it. Checked twice: when the URL is saved
/// (<see cref="CheckAsync"/>: its scheme, a literal address, localhost names, and what the name
/// resolves to now) and at every connection (<see cref="ConnectAsync"/>, the HTTP handler's connect
/// callback: the name is resolved again, every address checked, and the socket connects only to a
/// checked address, so a name that resolves to a public address at save and to 127.0.0.1 later
/// (DNS rebinding) is refused).
/// </summary>
public sealed class OutboundPolicy(OutboundSettings settings, OutboundResolver resolver)
{
    /// <summary>The error recorded for a refused request, the same whatever the reason.</summary>
    public const string Refused = "refused by the outbound policy";

    private const string Inside = "is refused by the outbound policy: it names a loopback, private, link-local or otherwise internal address";

    private readonly IPNetwork[] _networks = (settings.AllowedTargets ?? []).Select(ParseNetwork).OfType<IPNetwork>().ToArray();
    private readonly string[] _hosts = (settings.AllowedTargets ?? []).Where(t => ParseNetwork(t) is null).Select(t => t.Trim().TrimEnd('.').ToLowerInvariant()).ToArray();

    /// <summary>Why a URL may not be called, without resolving it (null: no objection yet).</summary>
    public string? RefusalOf(Uri? uri)
    {
        if (uri is not { IsAbsoluteUri: true } || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.IdnHost))
        {
            return "must be an absolute http or https URL";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry a user name or password";
        }
        var host = HostOf(uri);
        if (IPAddress.TryParse(host, out var literal))
        {
            return Allows(host, literal) ? null : Inside;
        }
        if (!settings.AllowPrivateTargets && !HostAllowed(host) && (host == "localhost" || host.EndsWith(".localhost", StringComparison.Ordinal)))
        {
            return Inside;
        }
        return null;
    }

    public string? RefusalOf(string? url) => RefusalOf(Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null);

    /// <summary>
    /// <see cref="RefusalOf(Uri)"/>, then the name resolved: any inside address refuses it. A name
    /// that does not resolve now is not refused here (the connection is checked again at send).
    /// </summary>
    public async Task<string?> CheckAsync(string? url, CancellationToken cancellationToken)
    {
        var uri = Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed : null;
        if (RefusalOf(uri) is { } refusal) return refusal;
        var host = HostOf(uri!);
        if (settings.AllowPrivateTargets || IPAddress.TryParse(host, out _) || HostAllowed(host)) return null;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            var addresses = await resolver.ResolveAsync(host, bounded.Token);
            return addresses.All(a => Allows(host, a)) ? null : Inside;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Whether a connection to this address, found for this host name, is allowed.</summary>
    public bool Allows(string host, IPAddress address)
    {
        if (settings.AllowPrivateTargets || OutboundAddresses.IsPublic(address) || HostAllowed(host)) return true;
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return _networks.Any(n => n.Contains(plain) || n.Contains(address));
    }

    /// <summary>
    /// The connect callback of the outbound handler: resolves the request's host, refuses it when
    /// any address is not allowed, and connects to the checked addresses only.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.TrimStart('[').TrimEnd(']');
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await resolver.ResolveAsync(host, cancellationToken);
        var normalized = host.TrimEnd('.').ToLowerInvariant();
        if (addresses.Length == 0 || addresses.Any(a => !Allows(normalized, a)))
        {
            throw new OutboundRefusedException();
        }
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }

    private bool HostAllowed(string host) =>
        _hosts.Any(h => h.StartsWith('.') ? host.EndsWith(h, StringComparison.Ordinal) : host == h);

    private static string HostOf(Uri uri) => uri.IdnHost.TrimStart('[').TrimEnd(']').TrimEnd('.').ToLowerInvariant();

    private static IPNetwork? ParseNetwork(string target)
    {
        var trimmed = target.Trim();
        if (IPNetwork.TryParse(trimmed, out var network)) return network;
        if (IPAddress.TryParse(trimmed, out var single)) return new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        return null;
    }
}
