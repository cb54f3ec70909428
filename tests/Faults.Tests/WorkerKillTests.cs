using System.Net;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// Messaging.Worker dies by SIGKILL in the middle of a burst of lead captures and flow runs, while
/// it provably has a Graph API send and a webhook call in hand (the receivers hold them), and is
/// started again through Aspire.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class WorkerKillTests(Hosts hosts)
{
    [Fact]
    public async Task A_worker_killed_mid_burst_and_started_again_leaves_each_lead_one_webhook_and_one_completed_run()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        // The in-process worker can't be SIGKILLed: for this test the only worker is its own OS process.
        await Hosts.StopWorkerAsync(hosts.Worker);
        var graph = hosts.Graph.Gate;
        var crm = world.Crm.Gate;
        try
        {
            await using var worker = await WorkerProcess.StartAsync(hosts);
            try
            {
                // A first capture, run to completion: the fresh process has compiled its handlers
                // (Wolverine does so on first use), so the holds below come quickly.
                var warmUp = world.StartBurst();
                await warmUp.WaitForMoreAsync(1, "to warm the worker up");
                var first = await warmUp.StopAsync();
                await Eventually.Until(async () => await world.CompletedRunsAsync() >= 1 ? "working" : null, TimeSpan.FromSeconds(120), "the worker to complete a run");

                // The receivers take what they are sent and hold their answers: the worker waits
                // inside a Graph send and inside a webhook call when it dies.
                graph.Close();
                crm.Close();
                var burst = world.StartBurst();
                await Eventually.Until(() => Task.FromResult(graph.Waiting > 0 && crm.Waiting > 0 ? "held" : null), TimeSpan.FromSeconds(120),
                    () => $"the worker to be held in a Graph send ({graph.Waiting} held) and a webhook call ({crm.Waiting} held)");
                // Still waiting on every held call (none given up on): the kill lands inside those handlers.
                Assert.Equal(0, graph.Abandoned + crm.Abandoned);

                var killed = await worker.KillAsync();
                var inFlight = await world.UncommittedAsync();
                // The held calls were taken by the receivers, not committed by the worker, and their
                // messages wait in its durable inbox, unhandled.
                Assert.True(inFlight.Texts.Count >= 1 && inFlight.Deliveries.Count >= 1, $"nothing was in hand at the kill: {inFlight}");
                Assert.True(await hosts.Servers.CountAsync(UnhandledOfKind, new { type = "SendWhatsAppMessage" }) >= 1, "no Graph send waiting in the worker's inbox");
                Assert.True(await hosts.Servers.CountAsync(UnhandledOfKind, new { type = "DeliverWebhook" }) >= 1, "no webhook delivery waiting in the worker's inbox");
                TestContext.Current.TestOutputHelper?.WriteLine($"killed with {graph.Held} Graph sends and {crm.Held} webhook calls held; {inFlight}");
                graph.Open();
                crm.Open();

                await burst.WaitForMoreAsync(8, "while the worker is dead");
                await worker.StartAgainAsync(killed);
                await burst.WaitForMoreAsync(8, "after the worker is back");
                IReadOnlyList<LeadBurst.Answer> answers = [.. first, .. await burst.StopAsync()];

                Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
                await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(answers, inFlight);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"{e.Message}\nworker log:\n{worker.Log}");
            }
        }
        finally
        {
            graph.Open();
            crm.Open();
            await hosts.RestartWorkerAsync();
        }
    }

    private const string UnhandledOfKind = """
        SELECT count(*) FROM messaging_wolverine.wolverine_incoming_envelopes
        WHERE status <> 'Handled' AND (message_type = @type OR message_type LIKE '%.' || @type)
        """;
}
