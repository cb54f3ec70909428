extern alias messaging;
using messaging::Funnels.Messaging.Triggers;

namespace Funnels.Tests.Messaging;

public sealed class PhrasesTests
{
    [Theory]
    [InlineData("  Start   Tour ", "start tour")]
    [InlineData("sTART\t\n tour", "start tour")]
    [InlineData("ｓｔａｒｔ　ＴＯＵＲ", "start tour")]
    [InlineData("Cafe\u0301 Menu", "café menu")]
    public void Phrases_are_compared_normalised(string input, string expected) => Assert.Equal(expected, Phrases.Normalize(input));
}
