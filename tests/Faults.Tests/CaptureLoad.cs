using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Funnels.Tests.Infrastructure;
using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// Lead captures for the crash tests: several posters per funnel, each lead with its own email and
/// phone, through any client (an in-process host's, or a service process's over real HTTP). Unlike
/// LeadBurst, a request that gets no answer (the service was killed under it, or was down) is kept
/// as an answer with status 0, and the requests in flight at any moment can be read: a crash test
/// kills while some are.
/// </summary>
public sealed class CaptureLoad
{
    /// <summary>The status kept for a request that got no HTTP answer.</summary>
    public const HttpStatusCode NoAnswer = 0;

    private static int _sequence;
    private readonly ConcurrentQueue<LeadBurst.Answer> _answers = new();
    private readonly ConcurrentDictionary<string, bool> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _posting;

    private CaptureLoad(IReadOnlyList<TestFunnel> funnels, Func<HttpClient> client, int posters, TimeSpan pause) =>
        _posting = Task.WhenAll(funnels.SelectMany(funnel => Enumerable.Range(0, posters).Select(_ => Task.Run(() => PostUntilStoppedAsync(funnel, client, pause)))));

    public static CaptureLoad Start(IReadOnlyList<TestFunnel> funnels, Func<HttpClient> client, int postersPerFunnel, TimeSpan pause) =>
        new(funnels, client, postersPerFunnel, pause);

    public int Count => _answers.Count;

    public IReadOnlyList<LeadBurst.Answer> Answers => [.. _answers];

    /// <summary>Waits until <paramref name="more"/> answers beyond those in now have come back.</summary>
    public async Task WaitForMoreAsync(int more, string what, Func<LeadBurst.Answer, bool>? counting = null)
    {
        counting ??= _ => true;
        var target = _answers.Count(counting) + more;
        await Eventually.Until(() => Task.FromResult(_answers.Count(counting) >= target ? "done" : null), TimeSpan.FromSeconds(90), $"{more} more answers {what}");
    }

    /// <summary>Waits until at least <paramref name="requests"/> captures are in flight, and returns their emails.</summary>
    public Task<string[]> WaitForInFlightAsync(int requests) => Eventually.Until(
        () => Task.FromResult(_inFlight.Count >= requests ? _inFlight.Keys.ToArray() : null), TimeSpan.FromSeconds(60), $"{requests} captures in flight");

    public async Task<IReadOnlyList<LeadBurst.Answer>> StopAsync()
    {
        await _stop.CancelAsync();
        await _posting;
        return [.. _answers];
    }

    private async Task PostUntilStoppedAsync(TestFunnel funnel, Func<HttpClient> newClient, TimeSpan pause)
    {
        using var client = newClient();
        while (!_stop.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref _sequence);
            var email = $"lead-{n}-{Guid.NewGuid():N}@crash.test";
            var phone = $"+57 3{Random.Shared.Next(0, 1_000_000_000):D9}";
            _inFlight[email] = true;
            try
            {
                // Not the test's token: a request under way when the test stops the load is still answered and kept.
                using var response = await client.PostAsync(Path, FormSubmit(funnel, email, phone));
                _answers.Enqueue(new LeadBurst.Answer(email, phone, response.StatusCode, await response.Content.ReadAsStringAsync(),
                    response.Headers.RetryAfter?.ToString(), response.Content.Headers.ContentType?.MediaType));
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                _answers.Enqueue(new LeadBurst.Answer(email, phone, NoAnswer, e.Message, null, null));
            }
            finally
            {
                _inFlight.TryRemove(email, out _);
            }
            try
            {
                await Task.Delay(pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public const string Path = "/api/runtime/events/";

    /// <summary>The public event that captures a new lead on the funnel's signup form.</summary>
    public static StringContent FormSubmit(TestFunnel funnel, string email, string phone) => new(JsonSerializer.Serialize(new
    {
        publication_slug = funnel.Slug,
        event_type = "FORM_SUBMIT",
        payload = new
        {
            page_id = "signup",
            form_data = new Dictionary<string, object> { ["email"] = email, ["name"] = "Ana", ["plan"] = "basic", ["accept"] = true, ["phone"] = phone },
        },
    }, TestWorkspace.Json), Encoding.UTF8, "application/json");

    /// <summary>
    /// A request that got no answer, or a 5xx, may still have committed (the commit reached the
    /// disk, the answer never left): its lead is either absent, or whole (its state and its audit
    /// event) and then held to everything a 202's lead is. Returns the answers with each such lead
    /// counted as accepted, for LeadWorld's checks (one lead per 202, each LeadCaptured handled once).
    /// </summary>
    public static async Task<IReadOnlyList<LeadBurst.Answer>> CountingCommittedAsync(Servers servers, Guid workspaceId, IReadOnlyList<LeadBurst.Answer> answers)
    {
        await using var db = new NpgsqlConnection(servers.Postgres);
        var leads = (await db.QueryAsync<(Guid Id, string Email, long States, long Events)>("""
            SELECT l.id, l.email, (SELECT count(*) FROM runtime.lead_states s WHERE s.lead_id = l.id),
                   (SELECT count(*) FROM runtime.lead_events e WHERE e.lead_id = l.id)
            FROM runtime.leads l WHERE l.workspace_id = @workspaceId
            """, new { workspaceId })).ToDictionary(l => l.Email);
        Assert.All(leads.Values, l =>
        {
            Assert.Equal(1, l.States);
            Assert.Equal(1, l.Events);
        });
        return [.. answers.Select(a => a.Status != HttpStatusCode.Accepted && leads.TryGetValue(a.Email, out var lead)
            ? a with { Status = HttpStatusCode.Accepted, Body = JsonSerializer.Serialize(new { lead_id = lead.Id }) }
            : a)];
    }
}
