using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Funnels.AppHost.Tests;

/// <summary>The four services as AppHost runs them: separate processes, real HTTP, real servers.</summary>
[Collection(TopologyCollection.Name)]
public sealed class TopologyTests(TopologyFixture topology)
{
    private static readonly string[] Services = TestAppHost.Services;
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_resource_is_running_and_healthy_in_aspire()
    {
        var model = topology.App.Services.GetRequiredService<DistributedApplicationModel>();
        // Everything AppHost declares except its parameters and Aspire's own dashboard: the servers, the database, the services.
        // (Aspire's hidden helpers, such as each project's "-rebuilder", are not shown anywhere either.)
        var declared = model.Resources
            .Where(r => r is not ParameterResource && r.Name != "aspire-dashboard" && !IsHidden(r.Name))
            .Select(r => r.Name);
        Assert.Equal(TestAppHost.Resources.Order(), declared.Order());

        foreach (var name in TestAppHost.Resources)
        {
            Assert.True(topology.App.ResourceNotifications.TryGetCurrentState(name, out var resource), $"{name} has no state");
            Assert.Equal((name, KnownResourceStates.Running, HealthStatus.Healthy), (name, resource.Snapshot.State?.Text, resource.Snapshot.HealthStatus));
        }
        // The parameters hold values (the tests set them all); none waits for input.
        foreach (var parameter in model.Resources.OfType<ParameterResource>())
        {
            Assert.True(topology.App.ResourceNotifications.TryGetCurrentState(parameter.Name, out var resource), $"{parameter.Name} has no state");
            Assert.NotEqual(KnownResourceStates.ValueMissing, resource.Snapshot.State?.Text);
        }
    }

    [Fact]
    public async Task Every_process_console_reaches_aspire()
    {
        // What the dashboard's Console page shows (and what the panel tests show when they fail).
        foreach (var resource in TestAppHost.Resources.Where(r => r != "funnels"))
        {
            await Probes.UntilAsync(() => topology.LogOf(resource).Length > 0, $"a line of {resource}'s console", TimeSpan.FromSeconds(30));
        }
    }

    private bool IsHidden(string resource) =>
        topology.App.ResourceNotifications.TryGetCurrentState(resource, out var e) && e.Snapshot.IsHidden;

    [Fact]
    public async Task Each_service_answers_health_and_shows_its_api_reference()
    {
        foreach (var service in Services)
        {
            using var client = topology.Client(service);
            var health = await client.GetAsync("/health", Cancel);
            // Status codes only: the checks' names in /health's body belong to ServiceDefaults.
            Assert.True(health.StatusCode == HttpStatusCode.OK, $"{service}: {(int)health.StatusCode} {await health.Content.ReadAsStringAsync(Cancel)}");
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive", Cancel)).StatusCode);
            if (service != "admin-web")
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/scalar/", Cancel)).StatusCode);
            }
        }
    }

    [Fact]
    public async Task Admin_web_pages_need_a_signed_in_admin()
    {
        using var admin = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = topology.Endpoint("admin-web") };

        var response = await admin.GetAsync("/System", Cancel);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/Account/SignIn", response.Headers.Location?.PathAndQuery);
    }

    [Fact]
    public async Task A_wiring_check_travels_from_runtime_api_through_rabbitmq_to_the_worker()
    {
        using var runtime = await SignedInAsync("runtime-api");
        using var worker = await SignedInAsync("messaging-worker");

        var check = await (await runtime.PostAsync("/api/runtime/wiring-checks", null, Cancel)).Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var id = check.GetProperty("id").GetGuid();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage receipt;
        while ((receipt = await worker.GetAsync($"/api/messaging/wiring-checks/{id}", Cancel)).StatusCode == HttpStatusCode.NotFound && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, Cancel);
        }
        Assert.Equal(HttpStatusCode.OK, receipt.StatusCode);
        Assert.Equal(1, (await receipt.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("deliveries").GetInt32());
    }

    [Fact]
    public async Task A_lead_is_captured_over_http_from_a_published_funnel()
    {
        using var runtime = topology.Client("runtime-api");
        var slug = await SignupFunnel.PublishAsync(runtime, topology.AdminPassword, "E2E");

        using var browser = topology.Client("runtime-api");
        var accepted = await SignupFunnel.SubmitAsync(browser, slug, "e2e@example.com");
        var outcome = await accepted.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        // A browser reads its lead's state with the 202's lead token (the lead itself needs an admin).
        var lead = await browser.GetFromJsonAsync<JsonElement>(
            $"/api/runtime/leads/{outcome.GetProperty("lead_id").GetGuid()}/state?lead_token={outcome.GetProperty("lead_token").GetString()}", Cancel);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("created", outcome.GetProperty("status").GetString());
        Assert.Equal("converted", lead.GetProperty("state").GetProperty("status").GetString());
    }

    private async Task<HttpClient> SignedInAsync(string service)
    {
        using var runtime = topology.Client("runtime-api");
        var token = await runtime.PostAsJsonAsync("/api/runtime/auth/token",
            new { email = TopologyFixture.AdminEmail, password = topology.AdminPassword }, Cancel);
        token.EnsureSuccessStatusCode();
        var client = topology.Client(service);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", (await token.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("access_token").GetString());
        return client;
    }
}
