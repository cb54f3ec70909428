using System.Net;
using System.Net.Http.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>RabbitMQ stops for 10 seconds under load: nothing is refused, nothing is lost, nothing arrives twice.</summary>
[Collection(ServicesCollection.Name)]
public sealed class BrokerOutageTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_the_broker_is_down_the_apis_answer_202_the_outbox_holds_the_messages_and_all_arrive_once_it_is_back()
    {
        await using var world = await LeadWorld.CreateAsync(hosts);
        using var admin = hosts.Runtime.CreateAdminClient();
        var burst = world.StartBurst();
        await burst.WaitForMoreAsync(10, "before the broker stops");
        Assert.Equal("Healthy", await Health.CheckAsync(admin, "rabbitmq"));

        await hosts.Servers.StopAsync("rabbitmq");
        Guid check;
        try
        {
            var requested = await admin.PostAsync("/api/runtime/wiring-checks", null, Cancel);
            Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
            check = (await requested.Content.ReadFromJsonAsync<CheckBody>(Cancel))!.Id;
            // Ten seconds of captures with no broker (a bounded wait, not a timing assertion).
            await Task.Delay(TimeSpan.FromSeconds(10), Cancel);

            // Committed with their rows, not yet sent: the envelopes wait in Runtime.Api's outbox table.
            Assert.True(await hosts.Servers.CountAsync("SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes") >= 2);
            Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.wiring_check_receipts WHERE check_id = @check", new { check }));
            Assert.Equal("Unhealthy", await Health.CheckAsync(admin, "rabbitmq"));
        }
        finally
        {
            await hosts.Servers.StartAsync("rabbitmq");
        }
        await burst.WaitForMoreAsync(10, "after the broker is back");
        // The health check's connection recovers by itself (RabbitMQ.Client's automatic recovery).
        await Eventually.Until(async () => await Health.CheckAsync(admin, "rabbitmq") == "Healthy" ? "healthy" : null,
            TimeSpan.FromSeconds(60), "the rabbitmq health check to recover");
        var answers = await burst.StopAsync();

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        Assert.True(answers.Count >= 30, $"only {answers.Count} captures were posted");
        await world.AssertEachAcceptedLeadHasOneEffectOfEachKindAsync(answers);
        var deliveries = await Eventually.Until(() => hosts.Servers.ScalarAsync<int?>(
            "SELECT deliveries FROM messaging.wiring_check_receipts WHERE check_id = @check", new { check }), TimeSpan.FromSeconds(60), "the wiring check");
        Assert.Equal(1, deliveries);
    }

    private sealed record CheckBody(Guid Id);
}
