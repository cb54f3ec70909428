using System.Net;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// Runtime.Api dies by SIGKILL while captures are in flight and its outbox holds LeadCaptured
/// envelopes it has not sent (the broker is down), and is started again through Aspire.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class RuntimeKillTests(Hosts hosts)
{
    [Fact]
    public async Task A_runtime_api_killed_mid_capture_keeps_every_202_once_sends_its_outbox_after_restart_and_half_writes_nothing()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        // Many captures at once from one address: the per-IP-and-slug limit is not what this test is about.
        await using var runtime = await ServiceProcess.RuntimeAsync(hosts, new Dictionary<string, string?> { ["RateLimits:EventsPerIpAndSlugPerMinute"] = "100000" });
        try
        {
            var load = CaptureLoad.Start(world.Funnels, runtime.CreateClient, postersPerFunnel: 3, pause: TimeSpan.FromMilliseconds(100));
            await load.WaitForMoreAsync(6, "with the broker up", a => a.Status == HttpStatusCode.Accepted);

            // With the broker down each capture commits its lead and its LeadCaptured envelope, and
            // the envelope stays in the outbox table: what the process holds when it dies.
            await hosts.Servers.StopAsync("rabbitmq");
            int killed;
            string[] inFlight;
            long unsent;
            try
            {
                await load.WaitForMoreAsync(10, "with the broker down", a => a.Status == HttpStatusCode.Accepted);
                string[] caught = [];
                killed = await runtime.KillAsync(async () => caught = await load.WaitForInFlightAsync(3));
                inFlight = caught;
                unsent = await hosts.Servers.CountAsync(
                    "SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes WHERE message_type LIKE '%LeadCaptured%'");
            }
            finally
            {
                await hosts.Servers.StartAsync("rabbitmq");
            }
            await runtime.StartAgainAsync(killed);
            await load.WaitForMoreAsync(6, "after Runtime.Api is back", a => a.Status == HttpStatusCode.Accepted);
            var answers = await load.StopAsync();

            Assert.True(unsent > 0, "no LeadCaptured envelope was waiting in the outbox when Runtime.Api was killed");
            Assert.NotEmpty(inFlight);
            // A 202 or no answer at all: the kill is not a 500.
            Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Accepted or CaptureLoad.NoAnswer, $"{a.Status}: {a.Body}"));
            // The kill cut off captures under way: they got no answer.
            Assert.Contains(answers, a => a.Status == CaptureLoad.NoAnswer && inFlight.Contains(a.Email));
            // Every 202's lead once, whole; the unanswered ones absent or whole; each lead's
            // LeadCaptured (sent from the outbox after the restart) handled once.
            await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(await CaptureLoad.CountingCommittedAsync(hosts.Servers, world.WorkspaceId, answers));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nruntime-api log:\n{runtime.Log}");
        }
    }
}
