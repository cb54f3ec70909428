namespace Funnels.Messaging.Sending;

/// <summary>How sends back off when Meta throttles them (GraphErrorKind.Throttled): "WhatsApp" configuration too.</summary>
public sealed partial class WhatsAppSendSettings
{
    /// <summary>The first wait after a throttling answer; it doubles with every further one.</summary>
    public int ThrottleBaseDelayMilliseconds { get; set; } = 4_000;

    public int ThrottleMaxDelayMilliseconds { get; set; } = 300_000;

    /// <summary>Throttling answers one send takes before it is dead-lettered (about an hour and a half with the defaults).</summary>
    public int ThrottleRetries { get; set; } = 24;

    /// <summary>
    /// Exponential back-off with jitter: base × 2^(attempt-1), capped, plus up to half the base at random, so
    /// the sends Meta throttled together do not come back together.
    /// </summary>
    public TimeSpan ThrottleDelay(int attempt)
    {
        var exponential = ThrottleBaseDelayMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 20));
        var jitter = Random.Shared.NextDouble() * ThrottleBaseDelayMilliseconds / 2;
        return TimeSpan.FromMilliseconds(Math.Min(ThrottleMaxDelayMilliseconds, exponential) + jitter);
    }
}
