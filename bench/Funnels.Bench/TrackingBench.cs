using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Funnels.Bench;

/// <summary>
/// Tracking.Api: page views through /api/tracking/collect (one a request, and batches), then CRM
/// webhooks linking visitors' sessions at a steady rate, and a mixed run of webhooks (some
/// without the visitor id) raced with the page's fallback identify.
/// </summary>
public static class TrackingBench
{
    public static async Task CollectAsync(BenchWorkspace workspace, BenchSizes sizes, Figures figures)
    {
        using var client = workspace.Topology.Client("tracking-api");
        var batch = sizes.PageViewsPerBatch;
        await Load.ClosedAsync(sizes.Clients, sizes.Warmup, _ => PageViewsAsync(client, workspace.Id, "warm-" + Guid.NewGuid(), Guid.NewGuid().ToString(), 1));
        var topology = workspace.Topology;
        var work = await DatabaseWork.ReadAsync(workspace.Topology.Database);
        var before = CpuMeter.Snapshot(topology);
        var single = await Load.ClosedAsync(sizes.Clients, sizes.Collect, _ => PageViewsAsync(client, workspace.Id, "v-" + Guid.NewGuid(), Guid.NewGuid().ToString(), 1));
        figures.AddCpu("collect", before, CpuMeter.Snapshot(topology), single.Succeeded);
        figures.AddDatabaseWork("collect", work, await DatabaseWork.ReadAsync(workspace.Topology.Database), single.Succeeded);
        before = CpuMeter.Snapshot(topology);
        var batched = await Load.ClosedAsync(sizes.Clients, sizes.Collect, _ => PageViewsAsync(client, workspace.Id, "v-" + Guid.NewGuid(), Guid.NewGuid().ToString(), batch));
        figures.AddCpu("collect_batched", before, CpuMeter.Snapshot(topology), batched.Succeeded * batch);
        figures["collect.single"] = single.PerSecond;
        figures["collect.batched"] = batched.PerSecond * batch;
        figures["collect.failed"] = single.Failed + batched.Failed;
    }

    public static async Task LinkAsync(BenchWorkspace workspace, BenchSizes sizes, Figures figures)
    {
        using var client = workspace.Topology.Client("tracking-api");
        var secret = await CrmSecretAsync(workspace);

        // Steady rate: every visitor has its sessions before its contact's webhook arrives.
        var visitors = Enumerable.Range(0, sizes.LinkedVisitors).Select(i => $"l-{i}-{Guid.NewGuid():N}").ToArray();
        await SessionsAsync(client, workspace.Id, visitors, sizes);
        // Linking commits inside the webhook's request (every session of the visitor, one
        // transaction), so its 200 is the moment all sessions are linked; checked below in the database.
        var linked = await Load.OpenAsync(sizes.LinksPerSecond, visitors.Length, async i =>
        {
            using var response = await CrmWebhookAsync(client, workspace.Id, secret, new { contact_id = "c-" + visitors[i], email = $"{i}@bench.test", fid_vid = visitors[i] });
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return response.StatusCode == HttpStatusCode.OK && body.GetProperty("link").GetString() == "linked"
                && body.GetProperty("sessions_linked").GetInt32() == sizes.SessionsPerVisitor;
        });
        figures["link.p50"] = linked.Percentile(50);
        figures["link.p95"] = linked.Percentile(95);
        figures["link.p99"] = linked.Percentile(99);
        figures["link.failed"] = linked.Failed;
        figures["link.unlinked_sessions"] = await Sql.CountAsync(workspace.Topology.Database,
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @workspace AND visitor_id LIKE 'l-%' AND contact_id IS NULL", ("workspace", workspace.Id));

        // Mixed: a quarter of the CRM's webhooks lack the visitor id; the page's fallback identify
        // is sent at the same moment for every visitor, so the two paths race for the others.
        var mixed = Enumerable.Range(0, sizes.MixedVisitors).Select(i => $"m-{i}-{Guid.NewGuid():N}").ToArray();
        await SessionsAsync(client, workspace.Id, mixed, sizes);
        var run = await Load.OpenAsync(sizes.LinksPerSecond, mixed.Length, async i =>
        {
            var contact = "c-" + mixed[i];
            object webhook = i % 4 == 0 ? new { contact_id = contact, email = $"m{i}@bench.test" } : new { contact_id = contact, email = $"m{i}@bench.test", fid_vid = mixed[i] };
            var sent = await Task.WhenAll(
                CrmWebhookAsync(client, workspace.Id, secret, webhook),
                client.PostAsync("/api/tracking/identify", Http.JsonBody(new { workspace_id = workspace.Id, visitor_id = mixed[i], contact_id = contact })));
            var ok = sent.All(r => r.IsSuccessStatusCode);
            foreach (var response in sent) response.Dispose();
            return ok;
        });
        var byWebhook = await Sql.CountAsync(workspace.Topology.Database,
            "SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @workspace AND visitor_id LIKE 'm-%' AND method = 'webhook'", ("workspace", workspace.Id));
        var byIdentify = await Sql.CountAsync(workspace.Topology.Database,
            "SELECT count(*) FROM tracking.visitor_links WHERE workspace_id = @workspace AND visitor_id LIKE 'm-%' AND method = 'identify'", ("workspace", workspace.Id));
        figures["mixed.webhook_share"] = 100.0 * byWebhook / mixed.Length;
        figures["mixed.identify_share"] = 100.0 * byIdentify / mixed.Length;
        figures["mixed.failed"] = run.Failed;
        figures["mixed.unlinked_sessions"] = await Sql.CountAsync(workspace.Topology.Database,
            "SELECT count(*) FROM tracking.sessions WHERE workspace_id = @workspace AND visitor_id LIKE 'm-%' AND contact_id IS NULL", ("workspace", workspace.Id));
    }

    private static async Task<bool> PageViewsAsync(HttpClient client, Guid workspace, string visitor, string session, int count)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var body = new
        {
            workspace_id = workspace, visitor_id = visitor, session_id = session,
            session = new { utm_source = "bench" },
            events = Enumerable.Range(0, count).Select(i => new { id = Guid.NewGuid().ToString(), type = "page_view", url = $"https://shop.example/p/{i}", occurred_at = now + i }),
        };
        // Beacons post JSON as text/plain.
        using var response = await client.PostAsync("/api/tracking/collect", new StringContent(JsonSerializer.Serialize(body, Http.Json), Encoding.UTF8, "text/plain"));
        return response.StatusCode == HttpStatusCode.Accepted;
    }

    private static async Task SessionsAsync(HttpClient client, Guid workspace, string[] visitors, BenchSizes sizes)
    {
        var failed = await Load.AllAsync(visitors.Length * sizes.SessionsPerVisitor, sizes.Clients,
            i => PageViewsAsync(client, workspace, visitors[i / sizes.SessionsPerVisitor], Guid.NewGuid().ToString(), 1));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} sessions were not recorded while setting up the linking run");
        }
    }

    private static Task<HttpResponseMessage> CrmWebhookAsync(HttpClient client, Guid workspace, string secret, object body)
    {
        var json = JsonSerializer.Serialize(body);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/tracking/webhooks/crm/{workspace}") { Content = Http.JsonBody(json) };
        request.Headers.Add("X-Funnels-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(json))));
        return client.SendAsync(request);
    }

    private static async Task<string> CrmSecretAsync(BenchWorkspace workspace)
    {
        using var admin = workspace.Tracking();
        var created = await admin.PostAsync("/api/tracking/settings/crm-secret", null);
        await Http.EnsureAsync(created);
        var secret = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        await Http.EnsureAsync(await admin.PutAsync("/api/tracking/settings", Http.JsonBody(new { visitor_field = "fid_vid", storage_key = "_ud" })));
        return secret;
    }
}
