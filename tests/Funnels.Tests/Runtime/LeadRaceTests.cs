using System.Net;
using System.Text.Json;
using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Tests.Runtime;

/// <summary>
/// Races the events endpoint promises to survive, made to happen rather than hoped for: the test
/// holds the advisory lock of a person's identity (LeadWriter takes it after claiming the
/// Idempotency-Key), so the first request stops inside its transaction, and the repeats are sent
/// only once PostgreSQL shows them waiting behind it. Every new lead is counted in the worker's
/// inbox: exactly one LeadCaptured each.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class LeadRaceTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Repeats_of_an_idempotency_key_sent_before_the_first_answer_wait_for_it_and_replay_it()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var key = Guid.NewGuid().ToString();
        var payload = TestFunnel.Signup("waiting@example.com");

        await using var held = await IdentityLock.TakeAsync(hosts.Servers, workspace.Id, "email:waiting@example.com");
        var first = Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload, key));
        var firstPid = await held.WaiterAsync();
        var repeats = Enumerable.Range(0, 5).Select(_ => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload, key))).ToArray();
        await held.BlockedBehindAsync(firstPid, repeats.Length);
        await held.ReleaseAsync();

        var answer = await first;
        var body = await Body(answer);
        Assert.Equal("created", body.GetProperty("status").GetString());
        Assert.False(answer.Headers.Contains("Idempotent-Replayed"));
        foreach (var repeat in await Task.WhenAll(repeats))
        {
            Assert.Equal(body.GetProperty("lead_id").GetGuid(), (await Body(repeat)).GetProperty("lead_id").GetGuid());
            Assert.Equal("true", repeat.Headers.GetValues("Idempotent-Replayed").Single());
        }
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id", new { workspace.Id }));
        await AssertOneLeadCapturedPerLeadAsync(workspace.Id, leads: 1);
    }

    [Fact]
    public async Task When_the_first_attempt_of_a_key_rolls_back_one_waiting_repeat_does_the_work_and_the_rest_replay_it()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var key = Guid.NewGuid().ToString();
        var payload = TestFunnel.Signup("rollback@example.com");

        await using var held = await IdentityLock.TakeAsync(hosts.Servers, workspace.Id, "email:rollback@example.com");
        var first = Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload, key));
        var firstPid = await held.WaiterAsync();
        var repeats = Enumerable.Range(0, 4).Select(_ => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload, key))).ToArray();
        await held.BlockedBehindAsync(firstPid, repeats.Length);
        // The first attempt's connection dies mid-transaction: its claim of the key rolls back with it.
        await held.TerminateAsync(firstPid);
        await held.ReleaseAsync();

        var failed = await first;
        Assert.True((int)failed.StatusCode >= 500, $"the attempt whose transaction died answered {(int)failed.StatusCode}");
        var answers = await Task.WhenAll(repeats);
        var bodies = await Task.WhenAll(answers.Select(Body));
        Assert.Single(bodies.Select(b => b.GetProperty("lead_id").GetGuid()).Distinct());
        var worker = Assert.Single(answers, a => !a.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("created", (await Body(worker)).GetProperty("status").GetString());
        Assert.All(answers.Where(a => a != worker), a => Assert.Equal("true", a.Headers.GetValues("Idempotent-Replayed").Single()));
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id", new { workspace.Id }));
        await AssertOneLeadCapturedPerLeadAsync(workspace.Id, leads: 1);
    }

    [Fact]
    public async Task A_person_seen_by_email_and_visitor_and_by_visitor_alone_at_once_is_one_lead_either_way_round()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var people = Enumerable.Range(0, 8).Select(i => (Email: $"mixed{i}@example.com", Visitor: Guid.CreateVersion7().ToString())).ToArray();
        Task<HttpResponseMessage> Signup((string Email, string Visitor) p) => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup(p.Email, visitorId: p.Visitor)));
        Task<HttpResponseMessage> Purchase((string Email, string Visitor) p) => Task.Run(() => funnel.PostAsync("PURCHASE", new
        {
            page_id = "offer", visitor_id = p.Visitor, amount = 10m, currency = "USD",
        }));

        // Two people in a fixed order each way round (both queued on the visitor's lock), the rest raced freely.
        foreach (var (person, emailFirst) in new[] { (people[0], true), (people[1], false) })
        {
            await using var held = await IdentityLock.TakeAsync(hosts.Servers, workspace.Id, "visitor:" + person.Visitor);
            var one = emailFirst ? Signup(person) : Purchase(person);
            await held.WaitersAsync(1);
            var other = emailFirst ? Purchase(person) : Signup(person);
            await held.WaitersAsync(2);
            await held.ReleaseAsync();
            foreach (var answer in await Task.WhenAll(one, other)) await Body(answer);
        }
        var raced = await Task.WhenAll(people[2..].SelectMany(p => new[] { Signup(p), Purchase(p) }));
        foreach (var answer in raced) await Body(answer);

        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        var leads = (await connection.QueryAsync<(string? Email, string? VisitorId)>(
            "SELECT email, visitor_id FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id })).ToList();
        Assert.Equal(people.Select(p => (p.Email, p.Visitor)).Order(), leads.Select(l => (l.Email!, l.VisitorId!)).Order());
        Assert.Equal(2 * people.Length, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @Id", new { workspace.Id }));
        await AssertOneLeadCapturedPerLeadAsync(workspace.Id, leads: people.Length);
    }

    [Fact]
    public async Task Fifty_raced_submissions_of_one_person_send_one_LeadCaptured()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var payload = TestFunnel.Signup("once@example.com", visitorId: Guid.CreateVersion7().ToString());

        foreach (var answer in await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => funnel.PostAsync("FORM_SUBMIT", payload))))) await Body(answer);

        await AssertOneLeadCapturedPerLeadAsync(workspace.Id, leads: 1);
    }

    /// <summary>
    /// Every LeadCaptured of the workspace left Runtime.Api's outbox and was handled by the worker,
    /// and there are as many as leads, each naming a different lead.
    /// </summary>
    private async Task AssertOneLeadCapturedPerLeadAsync(Guid workspaceId, int leads)
    {
        Assert.Equal(leads, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @workspaceId", new { workspaceId }));
        await Eventually.Until(async () => await hosts.Servers.CountAsync(
            "SELECT count(*) FROM runtime_wolverine.wolverine_outgoing_envelopes WHERE position(convert_to(@id, 'UTF8') IN body) > 0",
            new { id = workspaceId.ToString() }) == 0 ? (bool?)true : null, TimeSpan.FromSeconds(90), "Runtime.Api's outbox to send the workspace's messages");
        await hosts.Servers.HandledAsync("messaging", "LeadCaptured", workspaceId, handled: leads);
        await using var connection = new NpgsqlConnection(hosts.Servers.Postgres);
        var bodies = (await connection.QueryAsync<byte[]>("""
            SELECT body FROM messaging_wolverine.wolverine_incoming_envelopes
            WHERE message_type LIKE '%LeadCaptured' AND position(convert_to(@id, 'UTF8') IN body) > 0
            UNION ALL
            SELECT body FROM messaging_wolverine.wolverine_dead_letters
            WHERE message_type LIKE '%LeadCaptured' AND position(convert_to(@id, 'UTF8') IN body) > 0
            """, new { id = workspaceId.ToString() })).ToList();
        var leadIds = (await connection.QueryAsync<Guid>("SELECT id FROM runtime.leads WHERE workspace_id = @workspaceId", new { workspaceId })).ToList();
        Assert.Equal(leads, bodies.Count);
        Assert.All(leadIds, id => Assert.Single(bodies, b => System.Text.Encoding.UTF8.GetString(b).Contains(id.ToString())));
    }

    private static async Task<JsonElement> Body(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}

/// <summary>
/// The advisory lock LeadWriter takes for one identity value (<c>lead:{workspace}:{key}</c>), held
/// by the test on its own connection so requests for that person stop inside their transaction.
/// </summary>
public sealed class IdentityLock : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly NpgsqlConnection _connection;
    private readonly string _key;
    private bool _held = true;

    private IdentityLock(NpgsqlConnection connection, string key) => (_connection, _key) = (connection, key);

    public static async Task<IdentityLock> TakeAsync(Servers servers, Guid workspaceId, string identityKey)
    {
        var connection = new NpgsqlConnection(servers.Postgres);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        var key = $"lead:{workspaceId}:{identityKey}";
        await connection.ExecuteAsync("SELECT pg_advisory_lock(hashtextextended(@key, 0))", new { key });
        return new IdentityLock(connection, key);
    }

    /// <summary>The server process of the first request waiting for the lock.</summary>
    public async Task<int> WaiterAsync() => (await WaitersAsync(1))[0];

    /// <summary>Waits until <paramref name="count"/> backends wait for this lock; their pids, in the order they began waiting.</summary>
    public async Task<int[]> WaitersAsync(int count) => await Eventually.Until(async () =>
    {
        var pids = (await QueryAsync<int>("""
            SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objsubid = 1
              AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(@key, 0)
            ORDER BY a.state_change
            """)).ToArray();
        return pids.Length >= count ? pids : null;
    }, Bound, () => $"{count} requests to wait for the lock of {_key}");

    /// <summary>Waits until <paramref name="count"/> backends are blocked behind <paramref name="pid"/> (its claim of the key).</summary>
    public Task BlockedBehindAsync(int pid, int count) => Eventually.Until(async () =>
        (await QueryAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE @pid = ANY (pg_blocking_pids(pid))", new { pid })).Single() >= count ? (bool?)true : null,
        Bound, () => $"{count} requests to wait behind backend {pid}");

    public Task TerminateAsync(int pid) => QueryAsync<bool>("SELECT pg_terminate_backend(@pid, 60000)", new { pid });

    public async Task ReleaseAsync()
    {
        if (!_held) return;
        await QueryAsync<bool>("SELECT pg_advisory_unlock(hashtextextended(@key, 0))");
        _held = false;
    }

    private Task<IEnumerable<T>> QueryAsync<T>(string sql, object? parameters = null) =>
        _connection.QueryAsync<T>(new CommandDefinition(sql, parameters ?? new { key = _key }, cancellationToken: TestContext.Current.CancellationToken));

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await _connection.DisposeAsync();
    }
}
