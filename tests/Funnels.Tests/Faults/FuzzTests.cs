extern alias runtime;
extern alias tracking;
using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Funnels.ServiceDefaults.Security;
using Funnels.Tests.Infrastructure;
using Funnels.Tests.Tracking;

namespace Funnels.Tests.Faults;

/// <summary>
/// Generated broken requests against every public endpoint of Runtime.Api and Tracking.Api: never
/// a 5xx, every 4xx a problem-details JSON, no broken body accepted, and no row written anywhere.
/// The seed is printed; FUZZ_SEED=s replays a run, FUZZ_SEED=s FUZZ_CASE=n one request of it
/// (FUZZ_CASES=n runs fewer or more).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed partial class FuzzTests(Hosts hosts)
{
    private const int Cases = 10_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_thousand_broken_requests_get_4xx_problem_details_never_5xx_and_write_nothing()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : Random.Shared.Next();
        var count = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out var c) ? c : Cases;
        int[] cases = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASE"), out var only) ? [only] : [.. Enumerable.Range(0, count)];
        Log($"fuzz seed {seed} ({cases.Length} cases); replay with FUZZ_SEED={seed} [FUZZ_CASE=n]");

        // The per-slug and Meta limits stay at their defaults on the shared host (they have tests of
        // their own); this instance lifts them, or most of these requests would only meet a 429.
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, new Dictionary<string, string?>
        {
            ["RateLimits:EventsPerIpAndSlugPerMinute"] = "10000000",
            ["WhatsApp:WebhooksPerIpPerMinute"] = "10000000",
        });
        var bodies = new FuzzBodies(await WorldAsync(), seed);
        using var runtimeClient = runtime.CreateClient();
        using var trackingClient = hosts.Tracking.CreateClient();

        var before = await TableCounts.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(20));
        var countersBefore = await ChangeCounters.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(60), Services(runtime));
        var redis = hosts.Runtime.Get<StackExchange.Redis.IConnectionMultiplexer>();
        var redisBefore = await ChangeCounters.RedisAsync(redis);
        var failures = new ConcurrentQueue<string>();
        var answers = new ConcurrentDictionary<string, int>();
        var wrong = new ConcurrentDictionary<string, int>();
        var examples = new ConcurrentDictionary<string, string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Cancel }, async (n, ct) =>
        {
            var request = bodies.Make(n);
            using var message = request.ToMessage();
            try
            {
                using var response = await (request.Service == "runtime" ? runtimeClient : trackingClient).SendAsync(message, ct);
                var status = (int)response.StatusCode;
                answers.AddOrUpdate($"{Endpoint(request)} {status}", 1, (_, c) => c + 1);
                if (await ProblemWithAsync(request, response, ct) is { } problem)
                {
                    failures.Enqueue($"{problem}\n    {request.Describe()}");
                    var kind = $"{Endpoint(request)}: {Regex.Replace(problem, "(got [0-9]+).*", "$1", RegexOptions.Singleline)}";
                    wrong.AddOrUpdate(kind, 1, (_, c) => c + 1);
                    examples.TryAdd(kind, $"{problem}\n      {request.Describe()}");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures.Enqueue($"the request threw {ex.GetType().Name}: {ex.Message}\n    {request.Describe()}");
            }
        });
        Log($"{cases.Length} requests answered in {clock.Elapsed.TotalSeconds:0.0} s");
        var after = await TableCounts.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(10));
        var countersAfter = await ChangeCounters.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(60), Services(runtime));
        var redisAfter = await ChangeCounters.RedisAsync(redis);

        Log(string.Join("\n", answers.OrderBy(a => a.Key).Select(a => $"  {a.Key}: {a.Value}")));
        Log("answered wrongly:\n" + string.Join("\n", wrong.OrderByDescending(w => w.Value).Select(w => $"  {w.Value} x {w.Key}\n    e.g. {examples[w.Key]}")));
        Log($"tables counted: {after.Count} ({string.Join(", ", after.Keys)})");
        Assert.True(failures.IsEmpty, $"seed {seed}: {failures.Count} of {cases.Length} requests were answered wrongly; the first:\n" +
            string.Join("\n", failures.Take(15)));
        var grown = TableCounts.Grown(before, after);
        Assert.True(grown.Count == 0, $"seed {seed}: rows were written: {string.Join("; ", grown)}");
        var changed = TableCounts.Changes(countersBefore, countersAfter);
        Assert.True(changed.Count == 0, $"seed {seed}: rows were inserted, updated or deleted: {string.Join("; ", changed)}");
        var keys = ChangeCounters.RedisChanges(redisBefore, redisAfter);
        Assert.True(keys.Count == 0, $"seed {seed}: Redis keys were written: {string.Join("; ", keys.Take(20))}");
    }

    [Fact]
    public async Task Over_the_limit_every_rate_limited_public_endpoint_answers_429_problem_details_with_retry_after()
    {
        var tight = new Dictionary<string, string?>
        {
            ["RateLimits:EventsPerIpPerMinute"] = "1", ["RateLimits:LeadReadsPerIpPerMinute"] = "1", ["RateLimits:SignInsPerIpPerMinute"] = "1",
            ["WhatsApp:WebhooksPerIpPerMinute"] = "1", ["RateLimits:TrackingPerIpPerMinute"] = "1",
        };
        await using var runtime = new ServiceHost<runtime::Program>(hosts.Servers, tight);
        await using var tracking = new ServiceHost<tracking::Program>(hosts.Servers, tight);
        using var runtimeClient = runtime.CreateClient();
        using var trackingClient = tracking.CreateClient();
        var endpoints = new (HttpClient Client, HttpMethod Method, string Path)[]
        {
            (runtimeClient, HttpMethod.Post, "/api/runtime/events"), (runtimeClient, HttpMethod.Post, "/api/runtime/events/"),
            (runtimeClient, HttpMethod.Get, "/webhooks/meta?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"),
            (runtimeClient, HttpMethod.Post, "/webhooks/meta"), (runtimeClient, HttpMethod.Get, $"/api/runtime/leads/{Guid.NewGuid()}/state"),
            (runtimeClient, HttpMethod.Post, "/api/runtime/auth/token"),
            (trackingClient, HttpMethod.Post, "/api/tracking/collect"), (trackingClient, HttpMethod.Post, "/api/tracking/identify"),
            (trackingClient, HttpMethod.Post, $"/api/tracking/webhooks/crm/{Guid.NewGuid()}"),
            (trackingClient, HttpMethod.Post, $"/api/tracking/crm/hubspot/{Guid.NewGuid()}"), (trackingClient, HttpMethod.Post, "/api/tracking/crm/generic/crmt_x"),
            (trackingClient, HttpMethod.Post, "/api/tracking/impressions"), (trackingClient, HttpMethod.Post, "/api/tracking/conversions"),
        };
        var before = await TableCounts.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(20));

        foreach (var (client, method, path) in endpoints)
        {
            HttpResponseMessage? last = null;
            for (var i = 0; i < 3; i++)
            {
                last?.Dispose();
                last = await client.SendAsync(new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? JsonContent.Create(new { }) : null }, Cancel);
            }
            using var response = last!;
            Assert.True(429 == (int)response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancel)}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(429, (await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("status").GetInt32());
            Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single()) >= 1);
        }
        Assert.Empty(TableCounts.Grown(before, await TableCounts.SettledAsync(hosts.Servers, TimeSpan.FromSeconds(10))));
    }

    /// <summary>What is wrong with an answer, or null: 5xx, a broken body accepted, a 4xx that is not problem details.</summary>
    private static async Task<string?> ProblemWithAsync(FuzzRequest request, HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(ct);
        var answer = $"{status} {response.Content.Headers.ContentType} {(text.Length > 300 ? text[..300] + "…" : text)}";
        if (status >= 500) return $"server error: {answer}";
        // The fuzz host lifts the limits it can meet: a 429 would be a refusal that tells nothing about the body.
        if (status == 429) return $"rate limited, so the body was never checked: {answer}";
        if (status < 400)
        {
            return request.MustBeRejected ? $"a broken request was accepted: {answer}" : null;
        }
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return $"a 4xx that is not problem details: {answer}";
        try
        {
            var problem = JsonDocument.Parse(text).RootElement;
            if (problem.GetProperty("status").GetInt32() != status || problem.GetProperty("title").GetString() is not { Length: > 0 })
            {
                return $"problem details without its status and title: {answer}";
            }
            if (request.Expected is { Count: > 0 } expected && !expected.Any(e => e.Status == status && (e.Field is null || Names(problem, e.Field))))
            {
                return $"expected {string.Join(" or ", expected)}, got {answer}";
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"problem details that do not parse ({ex.Message}): {answer}";
        }
        return null;
    }

    /// <summary>
    /// Whether a 400's problem details name the field by its JSON path: a key of its errors that is
    /// the path or lies under it (events[0].type and events.0.type are one path).
    /// </summary>
    private static bool Names(JsonElement problem, string field)
    {
        // ASP.NET's own binding failure names the path in its detail ("… Path: $.workspace_id …").
        if (problem.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
            && Regex.IsMatch(detail.GetString()!, $@"Path: \$\.{Regex.Escape(field)}\b")) return true;
        if (!problem.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object) return false;
        return errors.EnumerateObject().Select(e => Indexes().Replace(e.Name, ".$1").TrimStart('$', '.'))
            .Any(key => key == field || key.StartsWith(field + ".", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"\[(\d+)\]")]
    private static partial Regex Indexes();

    /// <summary>A workspace with a published funnel, a CRM secret, a campaign and an influencer: real targets for the bodies.</summary>
    private async Task<FuzzWorld> WorldAsync()
    {
        var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(tracked.Workspace);
        var campaign = await tracked.Admin.PostAsJsonAsync("/api/tracking/campaigns", new
        {
            name = "Fuzz", product = "Course", brand = "Acme", budget = new { amount = 1_000_000m, currency = "COP" }, status = "active", refund_window_seconds = 3600,
        }, TrackedWorkspace.Json, Cancel);
        campaign.EnsureSuccessStatusCode();
        var influencer = await tracked.Admin.PostAsJsonAsync("/api/tracking/influencers", new { name = "Fuzz influencer", handle = "@fuzz" }, Cancel);
        influencer.EnsureSuccessStatusCode();
        // The other CRM adapters, configured as their senders need (HubSpot signs, Pipedrive uses basic auth, generic a URL token).
        const string hubSpotSecret = "fuzz-hubspot-client-secret-0123456789";
        await CrmKit.ConfigureAsync(tracked, "hubspot", new { auth = "hubspot_v3", secret = hubSpotSecret, visitor_field = "fid_vid" });
        var pipedrive = await CrmKit.ConfigureAsync(tracked, "pipedrive", new { auth = "basic", username = "pipedrive", visitor_field = "fid_vid" });
        var generic = await CrmKit.ConfigureAsync(tracked, "generic", new
        {
            auth = "path_token", paths = new { contact_id = "$.record.id", email = "$.record.fields['E-mail']", visitor_id = "$.record.fields['Visitor ID']" },
        });
        // A lead that exists, so refused requests also name a known person (their lead must stay as it is).
        var visitor = FuzzBodies.RandomVisitorId(new Random());
        var captured = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("known-lead@example.com", visitorId: visitor));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, captured.StatusCode);
        var leadId = (await captured.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("lead_id").GetGuid();
        return new FuzzWorld(funnel.Slug, tracked.Id, tracked.CrmSecret!,
            (await TrackedWorkspace.BodyAsync(campaign)).GetProperty("id").GetGuid(), (await TrackedWorkspace.BodyAsync(influencer)).GetProperty("id").GetGuid(), "COP",
            ServiceHost<runtime::Program>.MetaAppSecret, ServiceHost<runtime::Program>.MetaVerifyToken, ServiceHost<runtime::Program>.AdminEmail,
            hosts.Tracking.IssueAdminToken(tracked.Id, "editor"), hosts.Tracking.IssueAdminToken(tracked.Id, "viewer"),
            hubSpotSecret, "pipedrive", pipedrive.Secret, generic.Address, leadId, "known-lead@example.com", visitor);
    }

    /// <summary>Every in-process service the fuzz could reach, with the shared hosts.</summary>
    private IServiceProvider[] Services(ServiceHost<runtime::Program> runtime) =>
        [runtime.Services, hosts.Runtime.Services, hosts.Tracking.Services, hosts.Worker.Services];

    /// <summary>The route a request went to, ids and query left out, for the tally of answers.</summary>
    private static string Endpoint(FuzzRequest request) =>
        $"{request.Method} " + IdSegment().Replace(request.Path.Split('?')[0], "${prefix}{id}");

    [GeneratedRegex("(?<prefix>/(crm|leads|conversions)/(?:(?:gohighlevel|hubspot|pipedrive|generic)/)?)[^/]+(?=/refund|/$|$)")]
    private static partial Regex IdSegment();

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
