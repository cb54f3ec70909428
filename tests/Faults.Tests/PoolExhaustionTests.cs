extern alias runtime;
using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// Runtime.Api's connection pool exhausted (bench/README.md: an open loop that outran it was
/// answered 500 before): a capture is refused with 503 problem details and Retry-After once the
/// pool's wait runs out, writes nothing, and captures are accepted again once connections free up.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class PoolExhaustionTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_every_pooled_connection_taken_a_capture_gets_503_with_retry_after_writes_nothing_and_recovers()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        // A Runtime.Api of its own with a small capped pool (Postgres:MaxPoolSize, as the AppHost caps
        // each service's) and a 5 s pool wait (the connection string's Timeout), so the hog below
        // takes this host's connections, not the shared hosts'.
        await using var runtimeApi = new ServiceHost<runtime::Program>(hosts.Servers, new Dictionary<string, string?>
        {
            ["ConnectionStrings:funnels"] = new NpgsqlConnectionStringBuilder(hosts.Servers.Postgres) { Timeout = 5 }.ConnectionString,
            ["Postgres:MaxPoolSize"] = "10",
            ["WhatsApp:GraphBaseUrl"] = hosts.Graph.BaseUrl,
        });
        using var client = runtimeApi.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(CaptureLoad.Path, FormSubmit(funnel, "before"), Cancel)).StatusCode);
        var before = await hosts.Servers.LeadRowsAsync(workspace.Id);

        HttpResponseMessage refused;
        await using (var hog = await PoolHog.ExhaustAsync(runtimeApi.Get<NpgsqlDataSource>()))
        {
            Assert.True(hog.Held > 0);
            refused = await client.PostAsync(CaptureLoad.Path, FormSubmit(funnel, "refused"), Cancel);
            // The database itself was up all along: the shared Runtime.Api, with its own pool, accepts a capture meanwhile.
            using var shared = hosts.Runtime.CreateClient();
            Assert.Equal(HttpStatusCode.Accepted, (await shared.PostAsync(CaptureLoad.Path, FormSubmit(funnel, "meanwhile"), Cancel)).StatusCode);
        }

        var body = await refused.Content.ReadAsStringAsync(Cancel);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(503, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", body);
        Assert.DoesNotContain("Npgsql", body);
        // Nothing of the refused capture was written: only the one accepted meanwhile (a lead and its event) is new.
        Assert.Equal(before + 2, await hosts.Servers.LeadRowsAsync(workspace.Id));
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id AND email LIKE 'refused-%'", new { workspace.Id }));

        // The connections back in the pool, the same host accepts captures again.
        var after = await client.PostAsync(CaptureLoad.Path, FormSubmit(funnel, "after"), Cancel);
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        await Eventually.Until(async () => (await client.GetAsync("/health", Cancel)).StatusCode == HttpStatusCode.OK ? "healthy" : null,
            TimeSpan.FromSeconds(60), "the host to be healthy again");
    }

    private static StringContent FormSubmit(TestFunnel funnel, string name) =>
        CaptureLoad.FormSubmit(funnel, $"{name}-{Guid.NewGuid():N}@pool.test", $"+57 3{Random.Shared.Next(0, 1_000_000_000):D9}");
}
