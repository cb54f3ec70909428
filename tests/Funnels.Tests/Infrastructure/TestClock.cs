namespace Funnels.Tests.Infrastructure;

/// <summary>A clock a test sets: the real time until told otherwise, then the time it was set to.</summary>
public sealed class TestClock : TimeProvider
{
    private DateTimeOffset? _now;

    public void Set(DateTimeOffset now) => _now = now;

    public override DateTimeOffset GetUtcNow() => _now ?? base.GetUtcNow();
}
