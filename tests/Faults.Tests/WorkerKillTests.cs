using System.Net;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>Messaging.Worker dies by SIGKILL in the middle of a burst of lead captures and flow runs, and is started again through Aspire.</summary>
[Collection(ServicesCollection.Name)]
public sealed class WorkerKillTests(Hosts hosts)
{
    [Fact]
    public async Task A_worker_killed_mid_burst_and_started_again_leaves_each_lead_one_webhook_and_one_completed_run()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        // The in-process worker can't be SIGKILLed: for this test the only worker is its own OS process.
        await Hosts.StopWorkerAsync(hosts.Worker);
        try
        {
            await using var worker = await WorkerProcess.StartAsync(hosts);
            try
            {
                // A first capture, run to completion: the fresh process has compiled its handlers
                // (Wolverine does so on first use), so the kill below lands on work in hand.
                var warmUp = world.StartBurst();
                await warmUp.WaitForMoreAsync(1, "to warm the worker up");
                var first = await warmUp.StopAsync();
                await Eventually.Until(async () => await world.CompletedRunsAsync() >= 1 ? "working" : null, TimeSpan.FromSeconds(120), "the worker to complete a run");
                var burst = world.StartBurst();
                await burst.WaitForMoreAsync(8, "with the worker busy");

                var killed = await worker.KillAsync();
                await burst.WaitForMoreAsync(8, "while the worker is dead");
                await worker.StartAgainAsync(killed);
                await burst.WaitForMoreAsync(8, "after the worker is back");
                IReadOnlyList<LeadBurst.Answer> answers = [.. first, .. await burst.StopAsync()];

                Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
                await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(answers);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"{e.Message}\nworker log:\n{worker.Log}");
            }
        }
        finally
        {
            await hosts.RestartWorkerAsync();
        }
    }
}
