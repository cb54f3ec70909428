using System.Net;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Runtime;

/// <summary>Every rejected public event answers a clear 4xx naming what is wrong, and writes nothing.</summary>
[Collection(ServicesCollection.Name)]
public sealed class BadInputTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, int, string> Rejections => new()
    {
        { "not JSON", "{\"publication_slug\": ", 400, "body" },
        { "an array", "[1, 2]", 400, "body" },
        { "no slug", """{"event_type":"FORM_SUBMIT","payload":{"page_id":"signup"}}""", 400, "publication_slug" },
        { "a numeric slug", """{"publication_slug":5,"event_type":"FORM_SUBMIT","payload":{"page_id":"signup"}}""", 400, "publication_slug" },
        { "an unknown event type", """{"publication_slug":"SLUG","event_type":"HOVER","payload":{"page_id":"signup"}}""", 400, "event_type" },
        { "no payload", """{"publication_slug":"SLUG","event_type":"FORM_SUBMIT"}""", 400, "payload" },
        { "no page", """{"publication_slug":"SLUG","event_type":"FORM_SUBMIT","payload":{}}""", 400, "payload.page_id" },
        { "form data as a list", """{"publication_slug":"SLUG","event_type":"FORM_SUBMIT","payload":{"page_id":"signup","form_data":[1]}}""", 400, "payload.form_data" },
        { "a purchase without currency", """{"publication_slug":"SLUG","event_type":"PURCHASE","payload":{"page_id":"offer","amount":10,"form_data":{"email":"a@b.co"}}}""", 400, "payload.currency" },
        { "an unknown slug", """{"publication_slug":"no-such-funnel","event_type":"FORM_SUBMIT","payload":{"page_id":"signup"}}""", 404, "no-such-funnel" },
        { "an unknown page", """{"publication_slug":"SLUG","event_type":"FORM_SUBMIT","payload":{"page_id":"nowhere"}}""", 404, "nowhere" },
        { "a nested form value", """{"publication_slug":"SLUG","event_type":"FORM_SUBMIT","payload":{"page_id":"signup","form_data":{"email":"a@b.co","accept":true,"x":{"y":1}}}}""", 400, "payload.form_data.x" },
        { "no identity", """{"publication_slug":"SLUG","event_type":"PURCHASE","payload":{"page_id":"offer","amount":1,"currency":"USD"}}""", 400, "payload.form_data" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task A_bad_event_is_rejected_with_the_field_named_and_nothing_written(string what, string body, int status, string named)
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var response = await funnel.PostRawAsync(body.Replace("SLUG", funnel.Slug));

        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(status == (int)response.StatusCode, $"{what}: expected {status}, got {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(named, text);
        Assert.Equal(0, await hosts.Servers.LeadFootprintAsync(workspace.Id));
    }

    [Fact]
    public async Task Form_data_is_checked_against_the_page_fields_and_every_bad_field_is_listed()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var response = await funnel.PostAsync("FORM_SUBMIT", new
        {
            page_id = "signup",
            form_data = new { email = "not-an-email", name = new string('x', 21), plan = "gold", phone = "call me", accept = false },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("errors");
        Assert.Equal(
            ["payload.form_data.accept", "payload.form_data.email", "payload.form_data.name", "payload.form_data.phone", "payload.form_data.plan"],
            errors.EnumerateObject().Select(e => e.Name).Order());
        Assert.Equal(0, await hosts.Servers.LeadFootprintAsync(workspace.Id));
    }

    [Fact]
    public async Task A_body_over_64_KiB_is_refused_with_413()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var response = await funnel.PostAsync("FORM_SUBMIT", new { page_id = "signup", form_data = new { email = "big@example.com", accept = true, notes = new string('x', 70_000) } });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await hosts.Servers.LeadFootprintAsync(workspace.Id));
    }

    [Fact]
    public async Task An_unpublished_funnel_answers_404_until_it_is_published_again()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        (await workspace.Runtime.PostAsync($"/api/runtime/funnels/{funnel.Id}/unpublish", null, Cancel)).EnsureSuccessStatusCode();
        var whileUnpublished = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("late@example.com"));
        // Seen before the allowed one: a lead the refusal wrote would otherwise only turn it into "updated".
        var refusalLeft = await hosts.Servers.LeadFootprintAsync(workspace.Id);
        (await workspace.Runtime.PostAsync($"/api/runtime/funnels/{funnel.Id}/publish", null, Cancel)).EnsureSuccessStatusCode();
        var afterwards = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("late@example.com"));

        Assert.Equal(HttpStatusCode.NotFound, whileUnpublished.StatusCode);
        Assert.Equal(0, refusalLeft);
        Assert.Equal(HttpStatusCode.Accepted, afterwards.StatusCode);
        Assert.Equal("created", JsonDocument.Parse(await afterwards.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetString());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task A_filled_honeypot_is_answered_like_any_event_and_kept_nowhere()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        var response = await funnel.PostAsync("FORM_SUBMIT", new
        {
            page_id = "signup", form_data = new { email = "bot@example.com", accept = true, website = "http://spam.example" },
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("ignored", JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetString());
        Assert.Equal(0, await hosts.Servers.LeadFootprintAsync(workspace.Id));
    }

    [Fact]
    public async Task A_form_sent_faster_than_min_fill_seconds_is_answered_like_any_event_and_kept_nowhere()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        // An hour's minimum and a form shown two hours ago: which side of it each submission falls on holds at any speed.
        var schema = TestFunnel.ThreeStepSchema();
        schema["min_fill_seconds"] = 3600;
        var funnel = await TestFunnel.PublishAsync(workspace, schema);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        object Signup(string email, long startedAt) => new
        {
            page_id = "signup", form_data = new { email, accept = true }, form_started_at = startedAt,
        };

        var hasty = await funnel.PostAsync("FORM_SUBMIT", Signup("bot@example.com", now));

        Assert.Equal(HttpStatusCode.Accepted, hasty.StatusCode);
        Assert.Equal("ignored", JsonDocument.Parse(await hasty.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetString());
        Assert.Equal(0, await hosts.Servers.LeadRowsAsync(workspace.Id));

        // A person who took longer than the minimum is captured.
        var patient = await funnel.PostAsync("FORM_SUBMIT", Signup("person@example.com", now - 2 * 3600 * 1000));
        Assert.Equal(HttpStatusCode.Accepted, patient.StatusCode);
        Assert.NotEqual("ignored", JsonDocument.Parse(await patient.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetString());
        Assert.Equal(1, await hosts.Servers.ScalarAsync<long>("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task An_origin_the_funnel_does_not_allow_is_refused()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace, allowedOrigins: ["https://shop.example.com"]);
        using var client = workspace.Public;

        var foreign = await Post(client, funnel, "https://evil.example.net");
        var refusalLeft = await hosts.Servers.LeadFootprintAsync(workspace.Id);
        var allowed = await Post(client, funnel, "https://shop.example.com");

        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal(0, refusalLeft);
        Assert.Equal(HttpStatusCode.Accepted, allowed.StatusCode);
        Assert.Equal("created", JsonDocument.Parse(await allowed.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetString());
        Assert.Equal("https://shop.example.com", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task Past_the_limit_per_address_and_funnel_the_answer_is_429_with_retry_after()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);

        HttpResponseMessage? limited = null;
        for (var i = 0; i < 130 && limited is null; i++)
        {
            var response = await funnel.PostAsync("PAGE_VIEW", new { page_id = "landing" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        Assert.NotNull(limited);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
    }

    private async Task<HttpResponseMessage> Post(HttpClient client, TestFunnel funnel, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runtime/events")
        {
            Content = JsonContent(new { publication_slug = funnel.Slug, event_type = "FORM_SUBMIT", payload = TestFunnel.Signup("origin@example.com") }),
        };
        request.Headers.Add("Origin", origin);
        return await client.SendAsync(request, Cancel);
    }

    private static StringContent JsonContent(object value) =>
        new(JsonSerializer.Serialize(value, TestWorkspace.Json), System.Text.Encoding.UTF8, "application/json");
}
