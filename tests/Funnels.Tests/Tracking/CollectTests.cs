using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>The script and the collect endpoint: caching, batches, field-named 400s, 413, nothing half-written.</summary>
[Collection(ServicesCollection.Name)]
public sealed class CollectTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_script_is_served_with_caching_headers_and_revalidates_by_etag()
    {
        using var client = hosts.Tracking.CreateClient();

        var first = await client.GetAsync("/t.js", Cancel);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/javascript", first.Content.Headers.ContentType!.MediaType);
        Assert.True(first.Headers.CacheControl!.Public);
        Assert.Equal(TimeSpan.FromHours(1), first.Headers.CacheControl.MaxAge);
        var etag = first.Headers.ETag!.Tag;
        Assert.Contains("sendBeacon", await first.Content.ReadAsStringAsync(Cancel));

        using var again = new HttpRequestMessage(HttpMethod.Get, "/t.js");
        again.Headers.TryAddWithoutValidation("If-None-Match", etag);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(again, Cancel)).StatusCode);
    }

    [Fact]
    public async Task A_batch_records_its_session_and_page_views_once_however_often_it_is_resent()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var campaign = Guid.NewGuid();
        var visitor = TrackedWorkspace.NewVisitorId();
        var batch = new
        {
            workspace_id = tracked.Id, visitor_id = visitor, session_id = "s-batch",
            session = new { utm_source = "instagram", utm_campaign = "launch", @ref = "ana", campaign_id = campaign },
            events = new object[]
            {
                new { id = "e1", type = "page_view", url = "https://shop.example/a", occurred_at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
                new { id = "e2", type = "page_view", url = "https://shop.example/b", title = "B" },
                new { id = "e3", type = "custom", name = "video_played", properties = new { seconds = 12 } },
            },
        };

        var first = await tracked.PostTextAsync("/api/tracking/collect", batch);
        var resent = await tracked.PostTextAsync("/api/tracking/collect", batch);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(3, (await TrackedWorkspace.BodyAsync(first)).GetProperty("recorded").GetInt32());
        Assert.Equal(0, (await TrackedWorkspace.BodyAsync(resent)).GetProperty("recorded").GetInt32());
        Assert.Equal(3, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.events WHERE workspace_id = @Id", new { tracked.Id }));
        var session = (await tracked.Admin.GetFromJsonAsync<JsonElement>($"/api/tracking/visitors/{visitor}/sessions", Cancel)).GetProperty("items")[0];
        Assert.Equal(3, session.GetProperty("events").GetInt32());
        Assert.Equal("instagram", session.GetProperty("utm_source").GetString());
        Assert.Equal("ana", session.GetProperty("ref").GetString());
        Assert.Equal(campaign, session.GetProperty("campaign_id").GetGuid());
        Assert.Equal("https://shop.example/a", session.GetProperty("landing_url").GetString());
    }

    [Fact]
    public async Task Bad_events_are_refused_by_field_name_and_nothing_of_the_batch_is_written()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var invalid = await tracked.PostTextAsync("/api/tracking/collect", new
        {
            workspace_id = tracked.Id, visitor_id = TrackedWorkspace.NewVisitorId(), session_id = "s-bad",
            events = new object[] { new { type = "page_view", url = "https://ok.example" }, new { type = "purchase" }, new { type = "custom" } },
        });
        var tooMany = await tracked.PostTextAsync("/api/tracking/collect", new
        {
            workspace_id = tracked.Id, visitor_id = TrackedWorkspace.NewVisitorId(), session_id = "s-bad",
            events = Enumerable.Range(0, 101).Select(i => new { type = "page_view", url = $"https://ok.example/{i}" }),
        });
        var noWorkspace = await tracked.PostTextAsync("/api/tracking/collect", new { visitor_id = TrackedWorkspace.NewVisitorId(), session_id = "s-bad", type = "page_view", url = "https://ok.example" });
        var huge = await tracked.Public.PostAsync("/api/tracking/collect",
            new StringContent("{\"pad\":\"" + new string('x', 300 * 1024) + "\"}", Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await TrackedWorkspace.BodyAsync(invalid)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("events[1].type", out _));
        Assert.True(errors.TryGetProperty("events[2].name", out _));
        Assert.False(errors.TryGetProperty("events[0].type", out _));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.True((await TrackedWorkspace.BodyAsync(tooMany)).GetProperty("errors").TryGetProperty("events", out _));
        Assert.True((await TrackedWorkspace.BodyAsync(noWorkspace)).GetProperty("errors").TryGetProperty("workspace_id", out _));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal(0, await hosts.Servers.CountAsync(
            "SELECT (SELECT count(*) FROM tracking.events WHERE workspace_id = @Id) + (SELECT count(*) FROM tracking.sessions WHERE workspace_id = @Id)", new { tracked.Id }));
    }
}
