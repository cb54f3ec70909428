namespace Funnels.Bench;

/// <summary>How much load each scenario sends; every loop is bounded by these.</summary>
public sealed record BenchSizes
{
    public int Clients { get; init; } = 16;
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Saturation { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan OpenLoop { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan Collect { get; init; } = TimeSpan.FromSeconds(8);
    public int PageViewsPerBatch { get; init; } = 100;
    public double LinksPerSecond { get; init; } = 20;
    public int LinkedVisitors { get; init; } = 200;
    public int SessionsPerVisitor { get; init; } = 3;
    public int MixedVisitors { get; init; } = 200;
    public int BurstClicks { get; init; } = 10_000;
    public int ClicksPerDelivery { get; init; } = 100;
    public TimeSpan BurstTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int Waits { get; init; } = 2_000;
    public int WaitSeconds { get; init; } = 5;
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public static readonly BenchSizes Full = new();

    /// <summary>A smoke run: every scenario, small sizes, about a minute and a half.</summary>
    public static readonly BenchSizes Quick = new()
    {
        Warmup = TimeSpan.FromSeconds(1),
        Saturation = TimeSpan.FromSeconds(3),
        OpenLoop = TimeSpan.FromSeconds(3),
        Collect = TimeSpan.FromSeconds(2),
        LinksPerSecond = 10,
        LinkedVisitors = 30,
        MixedVisitors = 40,
        BurstClicks = 500,
        BurstTimeout = TimeSpan.FromSeconds(60),
        Waits = 200,
        WaitTimeout = TimeSpan.FromSeconds(45),
    };
}
