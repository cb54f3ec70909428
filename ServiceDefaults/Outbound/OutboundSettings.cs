namespace Funnels.ServiceDefaults.Outbound;

/// <summary>
/// "Outbound" configuration: what the product may call at a user's request (webhook endpoints,
/// flow webhook nodes). By default only public addresses; <see cref="AllowPrivateTargets"/> or
/// <see cref="AllowedTargets"/> open the inside on purpose (a CRM on the office network, tests'
/// loopback receivers).
/// </summary>
public sealed class OutboundSettings
{
    /// <summary>Allow every address, loopback and private ones included. Off by default.</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>
    /// Exceptions to the policy: CIDR blocks or addresses ("10.20.0.0/16", "192.168.1.7") and host
    /// names ("crm.internal"; ".corp.example" for every name under it).
    /// </summary>
    public string[]? AllowedTargets { get; set; }

    /// <summary>The whole exchange, connecting to the end of the body read.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>How much of an answer is read; the rest is discarded.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024;
}
