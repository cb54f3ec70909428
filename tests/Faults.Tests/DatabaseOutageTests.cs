using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>PostgreSQL restarts under load: clear 503s while it is away, and the same service processes recover on their own.</summary>
[Collection(ServicesCollection.Name)]
public sealed class DatabaseOutageTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_the_database_is_down_captures_get_503_with_retry_after_and_nothing_half_written_then_everything_recovers()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        foreach (var service in Services())
        {
            // Started (in-process hosts start on first use) and healthy before the database goes.
            using var client = service.Client;
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancel)).StatusCode);
        }
        var burst = world.StartBurst();
        await burst.WaitForMoreAsync(10, "before the database stops");

        // A call the worker made just before PostgreSQL went may have lost its commit (the receiver
        // took it, the row says not yet): what was first received across the outage may come twice.
        var before = world.Mark();
        await hosts.Servers.StopAsync("postgres");
        ReceiptMark? restarted = null;
        try
        {
            await burst.WaitForMoreAsync(12, "while the database is down");
            foreach (var service in Services())
            {
                using var client = service.Client;
                var health = await client.GetAsync("/health", Cancel);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
                var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync(Cancel)).RootElement;
                Assert.Equal("Unhealthy", body.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
            }
        }
        finally
        {
            await hosts.Servers.StartAsync("postgres");
            restarted = world.Mark();
        }

        // The same in-process services, never restarted, accept captures again.
        var back = burst.Count;
        await Eventually.Until(() => Task.FromResult(burst.Answers.Skip(back).Any(a => a.Status == HttpStatusCode.Accepted) ? "recovered" : null),
            TimeSpan.FromSeconds(60), "captures to be accepted again");
        await burst.WaitForMoreAsync(10, "after recovery");
        var answers = await burst.StopAsync();

        var refused = answers.Where(a => a.Status != HttpStatusCode.Accepted).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, a =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status);
            Assert.Equal("application/problem+json", a.ContentType);
            Assert.NotNull(a.RetryAfter);
            var problem = JsonDocument.Parse(a.Body).RootElement;
            Assert.Equal(503, problem.GetProperty("status").GetInt32());
            Assert.DoesNotContain("   at ", a.Body);
            Assert.DoesNotContain("Npgsql", a.Body);
        });
        await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(answers, world.FirstReceivedBetween(before, restarted!));
        foreach (var service in Services())
        {
            using var client = service.Client;
            await Eventually.Until(async () => (await client.GetAsync("/health", Cancel)).StatusCode == HttpStatusCode.OK ? "healthy" : null,
                TimeSpan.FromSeconds(30), $"{service.Name} to be healthy again");
        }
    }

    private IEnumerable<(string Name, HttpClient Client)> Services() =>
    [
        ("runtime", hosts.Runtime.CreateClient()),
        ("tracking", hosts.Tracking.CreateClient()),
        ("worker", hosts.Worker.CreateClient()),
    ];
}
