using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;
using StackExchange.Redis;

namespace Funnels.Faults.Tests;

/// <summary>Redis stops: the public endpoints keep serving with per-process rate limits, nothing durable was in it, and it is used again once back.</summary>
[Collection(ServicesCollection.Name)]
public sealed class CacheOutageTests(Hosts hosts)
{
    private const int EventsPerSlugPerMinute = 120;
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_redis_public_endpoints_keep_working_and_limiting_in_process_and_redis_is_used_again_when_back()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        using var fallbacks = new FallbackCounter();
        var burst = world.StartBurst();
        await burst.WaitForMoreAsync(5, "before Redis stops");

        await hosts.Servers.StopAsync("redis");
        try
        {
            await burst.WaitForMoreAsync(15, "while Redis is down");
            var lead = burst.Answers[^1];
            using (var client = world.Workspace.Public)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/runtime/leads/{lead.LeadId}/state?lead_token={lead.LeadToken}", Cancel)).StatusCode);
            }
            Assert.Equal(HttpStatusCode.Accepted, (await CollectAsync(world.WorkspaceId)).StatusCode);
            // The service can do without Redis: degraded, not unhealthy (still 200 to a probe).
            using (var client = world.Workspace.Public)
            {
                Assert.Equal("Degraded", await Health.CheckAsync(client, "redis"));
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancel)).StatusCode);
            }

            // Still limited, per process: the per-IP-and-slug budget holds on a fresh funnel.
            var limited = await TestFunnel.PublishAsync(world.Workspace);
            for (var i = 0; i < EventsPerSlugPerMinute; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, (await limited.PostAsync("PAGE_VIEW", new { page_id = "landing" })).StatusCode);
            }
            var over = await limited.PostAsync("PAGE_VIEW", new { page_id = "landing" });
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.NotNull(over.Headers.RetryAfter);
            Assert.True(fallbacks.Count > 0, "no rate-limit decision was counted as kept in process");
        }
        finally
        {
            await hosts.Servers.StartAsync("redis");
        }
        await burst.WaitForMoreAsync(5, "after Redis is back");
        var answers = await burst.StopAsync();

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        // Leads captured without Redis lost nothing: Redis held no part of them.
        await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(answers);

        // Back up: a new slug's limit is counted in Redis again.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(hosts.Servers.Redis);
        var fresh = await TestFunnel.PublishAsync(world.Workspace);
        await Eventually.Until(async () =>
        {
            Assert.Equal(HttpStatusCode.Accepted, (await fresh.PostAsync("PAGE_VIEW", new { page_id = "landing" })).StatusCode);
            var keys = redis.GetServers()[0].KeysAsync(pattern: $"ratelimit:events-slug:*{fresh.Slug}");
            return await keys.AnyAsync(Cancel) ? "counted in Redis" : null;
        }, TimeSpan.FromSeconds(30), "the rate limit to be counted in Redis again");
    }

    /// <summary>A t.js page-view batch, sent as the script sends it (text/plain, sendBeacon).</summary>
    private async Task<HttpResponseMessage> CollectAsync(Guid workspaceId)
    {
        using var client = hosts.Tracking.CreateClient();
        var batch = JsonSerializer.Serialize(new
        {
            workspace_id = workspaceId, visitor_id = Guid.CreateVersion7().ToString(), session_id = "s-" + Guid.NewGuid().ToString("N")[..12],
            events = new[] { new { id = "e-" + Guid.NewGuid().ToString("N"), type = "page_view", url = "https://shop.example/" } },
        });
        return await client.PostAsync("/api/tracking/collect", new StringContent(batch, Encoding.UTF8, "text/plain"), Cancel);
    }

    /// <summary>Counts the rate limiter's "kept in process" decisions (funnels.rate_limit.redis_fallbacks) in every host of this process.</summary>
    private sealed class FallbackCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public FallbackCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument is { Name: "funnels.rate_limit.redis_fallbacks", Meter.Name: "Funnels.RateLimiting" })
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
