using System.Net;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// PostgreSQL is killed (SIGKILL, no shutdown) under a lead load and started again: every 202
/// survives the crash once, what was refused or cut off is absent or whole, and the same service
/// processes recover on their own. DatabaseOutageTests covers the clean (fast) shutdown.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class DatabaseCrashTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    // Found by this test: a commit whose answer the crash cut off left its LeadCaptured in the live
    // Runtime.Api's outbox, never flushed; Messaging:OutboxStaleTime (1 min) now releases it.
    [Fact]
    public async Task A_database_killed_under_load_keeps_every_202_once_and_half_writes_nothing_and_the_services_recover()
    {
        await using var world = await LeadWorld.CreateAsync(hosts, funnels: 3);
        foreach (var service in Services())
        {
            using var client = service.Client;
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancel)).StatusCode);
        }
        // One poster per funnel, each under the per-IP-and-slug limit (120 a minute): three captures at a time at most.
        var load = CaptureLoad.Start(world.Funnels, hosts.Runtime.CreateClient, postersPerFunnel: 1, pause: TimeSpan.FromMilliseconds(500));
        await load.WaitForMoreAsync(10, "before the crash", a => a.Status == HttpStatusCode.Accepted);

        string[] inFlight;
        // A call the worker made just before the crash may have lost its commit (the receiver took it,
        // the row says not yet): what was first received across the crash may come twice, nothing else.
        var before = world.Mark();
        ReceiptMark? restarted = null;
        try
        {
            inFlight = await load.WaitForInFlightAsync(1);
            await PostgresCrash.KillAsync(hosts.Servers);
            await load.WaitForMoreAsync(6, "while the database is dead");
        }
        finally
        {
            await hosts.Servers.StartAsync("postgres");
            restarted = world.Mark();
        }
        var back = load.Count;
        await Eventually.Until(() => Task.FromResult(load.Answers.Skip(back).Any(a => a.Status == HttpStatusCode.Accepted) ? "recovered" : null),
            TimeSpan.FromSeconds(90), "captures to be accepted again");
        await load.WaitForMoreAsync(10, "after recovery", a => a.Status == HttpStatusCode.Accepted);
        var answers = await load.StopAsync();

        Assert.NotEmpty(inFlight);
        var refused = answers.Where(a => a.Status != HttpStatusCode.Accepted).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, a =>
        {
            Assert.True(a.Status == HttpStatusCode.ServiceUnavailable, $"{a.Status}: {a.Body}");
            Assert.Equal("application/problem+json", a.ContentType);
            Assert.NotNull(a.RetryAfter);
            Assert.DoesNotContain("   at ", a.Body);
            Assert.DoesNotContain("Npgsql", a.Body);
        });
        // A commit whose answer the crash cut off (the connection broke after COMMIT left) is a 503
        // whose lead exists: it must then be whole and handled like a 202's.
        await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(await CaptureLoad.CountingCommittedAsync(hosts.Servers, world.WorkspaceId, answers),
            world.FirstReceivedBetween(before, restarted!));
        foreach (var service in Services())
        {
            using var client = service.Client;
            await Eventually.Until(async () => (await client.GetAsync("/health", Cancel)).StatusCode == HttpStatusCode.OK ? "healthy" : null,
                TimeSpan.FromSeconds(60), $"{service.Name} to be healthy again");
        }
    }

    private IEnumerable<(string Name, HttpClient Client)> Services() =>
    [
        ("runtime", hosts.Runtime.CreateClient()),
        ("tracking", hosts.Tracking.CreateClient()),
        ("worker", hosts.Worker.CreateClient()),
    ];
}
