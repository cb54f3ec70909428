extern alias messaging;
extern alias runtime;
extern alias tracking;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Funnels.ServiceDefaults.Data;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Messaging;
using Funnels.Tests.Tracking;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Funnels.Tests.Faults;

/// <summary>
/// Two instances of every service on one database and one broker: migrations run once, scheduled
/// messages fire once, work is shared between the instances and every effect happens once.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class TwoInstancesTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private sealed record Instance(string Schema, Action Start, Func<IServiceProvider> Services, IAsyncDisposable Factory, IAsyncDisposable Host);

    [Fact]
    public async Task Two_instances_of_each_service_starting_at_once_on_a_fresh_database_apply_each_migration_once()
    {
        var database = "funnels_twins_" + Guid.NewGuid().ToString("N")[..8];
        await using (var server = new NpgsqlConnection(hosts.Servers.Postgres))
        {
            await server.ExecuteAsync($"CREATE DATABASE {database}");
        }
        var fresh = new NpgsqlConnectionStringBuilder(hosts.Servers.Postgres) { Database = database }.ConnectionString;
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:funnels"] = fresh };
        var log = new MigrationLog();
        var instances = new List<Instance>();
        void Add<T>(string schema, ServiceHost<T> host) where T : class
        {
            var factory = host.WithWebHostBuilder(b => b.ConfigureLogging(logging => logging.AddProvider(log)));
            instances.Add(new Instance(schema, factory.StartServer, () => factory.Services, factory, host));
        }
        for (var i = 0; i < 2; i++)
        {
            Add("runtime", new ServiceHost<runtime::Program>(hosts.Servers, settings));
            Add("tracking", new ServiceHost<tracking::Program>(hosts.Servers, settings));
            Add("messaging", new ServiceHost<messaging::Program>(hosts.Servers, settings));
        }

        try
        {
            // All six start together: each waits for its schema's advisory lock, Wolverine builds its own tables.
            await Task.WhenAll(instances.Select(instance => Task.Run(instance.Start, Cancel)));

            await using var connection = new NpgsqlConnection(fresh);
            await using var main = new NpgsqlConnection(hosts.Servers.Postgres);
            foreach (var schema in new[] { "runtime", "tracking", "messaging" })
            {
                var versions = instances.First(i => i.Schema == schema).Services().GetRequiredService<SchemaMigrator>().Discover().Select(m => m.Version).ToArray();
                // One instance applied every migration, the other found nothing left to do.
                Assert.Equal([0, versions.Length], log.AppliedCounts(schema).Order());
                Assert.Equal(versions, await connection.QueryAsync<int>($"SELECT version FROM {schema}.schema_migrations ORDER BY version"));
                // Wolverine's envelope storage was built once, completely, by whichever instance came first.
                const string tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = @wolverine ORDER BY 1";
                var wolverine = new { wolverine = schema + "_wolverine" };
                Assert.Equal(await main.QueryAsync<string>(tables, wolverine), await connection.QueryAsync<string>(tables, wolverine));
            }
            // Runtime.Api's start-up bootstrap (the default workspace and its first admin) happened once.
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.workspaces"));
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.admin_users"));
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM runtime.workspace_members"));
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.Factory.DisposeAsync();
                await instance.Host.DisposeAsync();
            }
            NpgsqlConnection.ClearAllPools();
            await using var server = new NpgsqlConnection(hosts.Servers.Postgres);
            await server.ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task With_two_workers_each_delayed_flow_step_fires_once_and_both_workers_execute_runs()
    {
        var second = hosts.NewWorker();
        second.StartServer();
        try
        {
            var kit = await WhatsAppKit.CreateAsync(hosts);
            var flow = await kit.FlowAsync("twin delay", """
                {"start": "a", "nodes": {
                  "a": {"type": "delay", "seconds": 3, "next": "b"},
                  "b": {"type": "send_text", "text": "After the wait {{contact.wa_id}}"}}}
                """);
            var contacts = Enumerable.Range(0, 100).Select(_ => WhatsAppKit.NewWaId()).Distinct().ToArray();

            // A delivery's runs start on the instance that parses it: deliveries of 10, so both get some.
            foreach (var batch in contacts.Chunk(10))
            {
                await kit.DeliverAsync(kit.Delivery(batch.Select(c => (c, WhatsAppKit.Text("twin delay"))).ToArray()));
            }

            // Each run waits 3 s after its first step: note which instance executed that step.
            var waitedOn = new ConcurrentDictionary<Guid, string>();
            await Eventually.Until(async () =>
            {
                foreach (var (run, executor) in await QueryAsync<(Guid, string)>(
                    "SELECT id, executed_by FROM messaging.flow_runs WHERE flow_id = @flow AND status = 'waiting'", new { flow }))
                {
                    waitedOn.TryAdd(run, executor);
                }
                var completed = await hosts.Servers.CountAsync("SELECT count(*) FROM messaging.flow_runs WHERE flow_id = @flow AND status = 'completed'", new { flow });
                return completed == contacts.Length ? (bool?)true : null;
            }, TimeSpan.FromSeconds(90), "every delayed run to complete");
            await Eventually.Until(() => Task.FromResult(hosts.Graph.SentFor(kit.PhoneNumberId).Count >= contacts.Length ? (bool?)true : null),
                TimeSpan.FromSeconds(30), "every send after the delay");
            // Every wake-up and every send consumed, by either instance, and none waiting to fire again.
            var runs = (await QueryAsync<Guid>("SELECT id FROM messaging.flow_runs WHERE flow_id = @flow", new { flow })).Select(r => r.ToString()).ToArray();
            await hosts.Servers.HandledAsync("messaging", "ResumeRun", runs, handled: contacts.Length);
            await hosts.Servers.SendsOfFlowHandledAsync(flow);

            var sent = hosts.Graph.SentFor(kit.PhoneNumberId);
            Assert.Equal(contacts.Order(), sent.Select(r => r.To).Order());
            Assert.Equal(contacts.Length, await hosts.Servers.CountAsync(
                "SELECT count(*) FROM messaging.flow_run_steps s JOIN messaging.flow_runs r ON r.id = s.run_id WHERE r.flow_id = @flow AND s.node_id = 'b'", new { flow }));
            Assert.Equal(contacts.Length, waitedOn.Count);
            Assert.Equal(2, waitedOn.Values.Distinct().Count());
        }
        finally
        {
            await Hosts.StopWorkerAsync(second);
        }
    }

    [Fact]
    public async Task Requests_spread_over_two_instances_of_each_service_make_each_effect_once()
    {
        await using var runtimeB = new ServiceHost<runtime::Program>(hosts.Servers);
        await using var trackingB = new ServiceHost<tracking::Program>(hosts.Servers);
        var workerB = hosts.NewWorker();
        workerB.StartServer();
        await using var receiver = await WebhookReceiver.StartAsync();
        try
        {
            using var tracked = await TrackedWorkspace.CreateAsync(hosts);
            var workspace = tracked.Workspace;
            (await workspace.Worker.PostAsJsonAsync("/api/messaging/webhooks", new { url = receiver.Url, events = new[] { "lead.captured" } }, Cancel)).EnsureSuccessStatusCode();
            var funnel = await TestFunnel.PublishAsync(workspace);
            using var runtimeA = hosts.Runtime.CreateClient();
            using var runtimeBClient = runtimeB.CreateClient();

            // 30 people, each submitted four times at once, two times through each Runtime.Api instance.
            var people = Enumerable.Range(0, 30).Select(i => $"twin{i}-{Guid.NewGuid():N}@example.com").ToArray();
            var responses = await Task.WhenAll(people.SelectMany(email => Enumerable.Range(0, 4).Select(n => Task.Run(() =>
                (n % 2 == 0 ? runtimeA : runtimeBClient).PostAsJsonAsync("/api/runtime/events/", new
                {
                    publication_slug = funnel.Slug, event_type = "FORM_SUBMIT", payload = TestFunnel.Signup(email),
                }, TestWorkspace.Json, Cancel)))));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
            Assert.Equal(people.Length, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));

            // Each captured lead reaches the CRM once, whichever of the two workers delivered it.
            await Eventually.Until(() => Task.FromResult(receiver.Requests.Count >= people.Length ? (bool?)true : null), TimeSpan.FromSeconds(60), "every lead.captured delivery");
            // One LeadCaptured per lead reached the workers, and every delivery was consumed: the count is final.
            await hosts.Servers.HandledAsync("messaging", "LeadCaptured", workspace.Id.ToString(), handled: people.Length);
            await hosts.Servers.WebhookDeliveriesHandledAsync(workspace.Id);
            Assert.Equal(people.Length, await hosts.Servers.CountAsync(
                "SELECT count(*) FROM messaging.webhook_deliveries WHERE workspace_id = @Id AND event_type = 'lead.captured'", new { workspace.Id }));
            var delivered = receiver.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").GetProperty("email").GetString()).ToList();
            Assert.Equal(people.Order(), delivered.Order());

            // 20 visitors, each linked at once by the CRM webhook through one Tracking.Api instance
            // and by identify through the other: one link each, no conflict.
            using var trackingBClient = trackingB.CreateClient();
            var visitors = Enumerable.Range(0, 20).Select(_ => (Visitor: TrackedWorkspace.NewVisitorId(), Contact: TrackedWorkspace.NewId("c"))).ToArray();
            foreach (var (visitor, _) in visitors)
            {
                Assert.Equal(HttpStatusCode.Accepted, (await tracked.PageViewAsync(visitor, TrackedWorkspace.NewId("s"))).StatusCode);
            }
            var links = await Task.WhenAll(visitors.SelectMany(v => new[]
            {
                Task.Run(() => tracked.CrmWebhookAsync(new { contact_id = v.Contact, fid_vid = v.Visitor })),
                Task.Run(() => trackingBClient.PostAsJsonAsync("/api/tracking/identify", new { workspace_id = tracked.Id, visitor_id = v.Visitor, contact_id = v.Contact }, Cancel)),
            }));
            Assert.All(links, r => Assert.True(r.IsSuccessStatusCode, r.StatusCode.ToString()));
            Assert.Equal(visitors.Length, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @Id", new { tracked.Id }));
            Assert.Equal(0, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.link_conflicts WHERE workspace_id = @Id", new { tracked.Id }));
        }
        finally
        {
            await Hosts.StopWorkerAsync(workerB);
        }
    }

    private async Task<IEnumerable<T>> QueryAsync<T>(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        return await connection.QueryAsync<T>(sql, parameters);
    }
}
