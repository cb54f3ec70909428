using System.Net.Http.Json;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Runtime;

[Collection(ServicesCollection.Name)]
public sealed class StatsApiTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_overview_counts_the_workspace_leads_per_day_and_by_funnel()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("a@example.com", plan: "basic"))).EnsureSuccessStatusCode();
        (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("b@example.com", plan: "pro"))).EnsureSuccessStatusCode();

        var response = await workspace.Runtime.GetAsync("/api/runtime/stats/overview?days=7", Cancel);
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, body);
        var overview = JsonDocument.Parse(body).RootElement;

        Assert.Equal(2, overview.GetProperty("leads").GetInt64());
        Assert.Equal(1, overview.GetProperty("converted").GetInt64());
        var days = overview.GetProperty("per_day").EnumerateArray().ToList();
        Assert.Equal(7, days.Count);
        // Both leads are from the last two days of the window (today's, unless UTC midnight passed in between).
        Assert.Equal(2, days.Sum(d => d.GetProperty("leads").GetInt64()));
        Assert.Equal(2, days[^2..].Sum(d => d.GetProperty("leads").GetInt64()));
        var byFunnel = overview.GetProperty("funnels").EnumerateArray().Single();
        Assert.Equal(funnel.Id, byFunnel.GetProperty("funnel_id").GetGuid());
        Assert.Equal(0.5m, byFunnel.GetProperty("conversion_rate").GetDecimal());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await workspace.Runtime.GetAsync("/api/runtime/stats/overview?days=0", Cancel)).StatusCode);
    }
}
