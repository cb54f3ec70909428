extern alias admin;
using admin::Funnels.Admin.Infrastructure;

namespace Funnels.Tests.Foundation;

/// <summary>The panel's durations read as people say them (issue 17: a 90 s refund window read "0.0010416666666666667 days").</summary>
public sealed class DurationsTests
{
    [Theory]
    [InlineData(0, "none")]
    [InlineData(1, "1 s")]
    [InlineData(90, "90 s")]
    [InlineData(120, "2 min")]
    [InlineData(900, "15 min")]
    [InlineData(3_661, "1 h 1 min 1 s")]
    [InlineData(7_200, "2 h")]
    [InlineData(86_400, "1 day")]
    [InlineData(108_000, "1 day 6 h")]
    [InlineData(2_592_000, "30 days")]
    public void A_duration_reads_in_whole_units_largest_first(long seconds, string expected) => Assert.Equal(expected, Durations.For(seconds));
}
