extern alias messaging;
using messaging::Funnels.Messaging.Triggers;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Tests.Messaging;

public sealed class PhrasesTests(Servers servers)
{
    [Theory]
    [InlineData("  Start   Tour ", "start tour")]
    [InlineData("sTART\t\n tour", "start tour")]
    [InlineData("ｓｔａｒｔ　ＴＯＵＲ", "start tour")]
    [InlineData("Cafe\u0301 Menu", "caf\u00e9 menu")]
    public async Task Phrases_are_compared_trimmed_collapsed_case_folded_and_NFKC_normalised(string input, string expected)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        Assert.Equal([expected], await Phrases.NormalizeAsync(connection, null, [input]));
    }
}
