using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Faults.Tests;

/// <summary>
/// Load for the fault tests: one client per funnel posts FORM_SUBMIT events, each a new lead with
/// its own email and phone, until stopped, and every answer is kept. The pace keeps each funnel
/// under the per-IP-and-slug limit (120 a minute) for as long as a test runs.
/// </summary>
public sealed class LeadBurst
{
    public sealed record Answer(string Email, string Phone, HttpStatusCode Status, string Body, string? RetryAfter, string? ContentType)
    {
        public Guid LeadId => JsonDocument.Parse(Body).RootElement.GetProperty("lead_id").GetGuid();
        public string LeadToken => JsonDocument.Parse(Body).RootElement.GetProperty("lead_token").GetString()!;
    }

    private static int _sequence;
    private readonly ConcurrentQueue<Answer> _answers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _posting;

    private LeadBurst(IReadOnlyList<TestFunnel> funnels, TimeSpan pause) =>
        _posting = Task.WhenAll(funnels.Select(funnel => Task.Run(() => PostUntilStoppedAsync(funnel, pause))));

    public static LeadBurst Start(IReadOnlyList<TestFunnel> funnels, TimeSpan? pause = null) => new(funnels, pause ?? TimeSpan.FromMilliseconds(500));

    public int Count => _answers.Count;

    public IReadOnlyList<Answer> Answers => [.. _answers];

    /// <summary>Waits until <paramref name="more"/> answers beyond those in now have come back.</summary>
    public async Task WaitForMoreAsync(int more, string what)
    {
        var target = Count + more;
        await Eventually.Until(() => Task.FromResult(Count >= target ? "done" : null), TimeSpan.FromSeconds(60), $"{more} more answers {what}");
    }

    public async Task<IReadOnlyList<Answer>> StopAsync()
    {
        await _stop.CancelAsync();
        await _posting;
        return [.. _answers];
    }

    private async Task PostUntilStoppedAsync(TestFunnel funnel, TimeSpan pause)
    {
        while (!_stop.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref _sequence);
            var email = $"lead-{n}-{Guid.NewGuid():N}@faults.test";
            var phone = $"+57 3{Random.Shared.Next(0, 1_000_000_000):D9}";
            var payload = new
            {
                page_id = "signup",
                form_data = new Dictionary<string, object> { ["email"] = email, ["name"] = "Ana", ["plan"] = "basic", ["accept"] = true, ["phone"] = phone },
            };
            using var response = await funnel.PostAsync("FORM_SUBMIT", payload);
            _answers.Enqueue(new Answer(email, phone, response.StatusCode, await response.Content.ReadAsStringAsync(),
                response.Headers.RetryAfter?.ToString(), response.Content.Headers.ContentType?.MediaType));
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
}
