using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Tracking;

/// <summary>Inputs exactly at a documented limit of Tracking.Api are accepted (the fuzz proves one past it is refused).</summary>
[Collection(ServicesCollection.Name)]
public sealed class BoundaryTrackingTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_collect_batch_of_exactly_100_events_and_256_KiB_is_recorded_whole()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var events = new JsonArray();
        for (var i = 0; i < 100; i++) // CollectRequestParser.MaxEvents
        {
            events.Add(new JsonObject
            {
                ["id"] = $"{i:D3}-" + new string('e', 124), // an event id: at most 128 characters
                ["type"] = "custom",
                ["name"] = new string('n', 100), // name: at most 100
                ["properties"] = new JsonObject { ["pad"] = "" },
            });
        }
        var body = new JsonObject
        {
            ["workspace_id"] = tracked.Id.ToString(), ["visitor_id"] = TrackedWorkspace.NewVisitorId(), ["session_id"] = new string('s', 128),
            ["events"] = events,
        };
        // The body exactly 256 KiB (CollectRequestParser.MaxBodyBytes), padded in the events' properties.
        var room = 256 * 1024 - Encoding.UTF8.GetByteCount(body.ToJsonString());
        for (var i = 0; i < 100; i++)
        {
            var length = room / (100 - i);
            events[i]!["properties"]!["pad"] = new string('p', length);
            room -= length;
        }
        var text = body.ToJsonString();
        Assert.Equal(256 * 1024, Encoding.UTF8.GetByteCount(text));

        var response = await tracked.Public.PostAsync("/api/tracking/collect", new StringContent(text, Encoding.UTF8, "text/plain"), Cancel);

        var answer = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {answer}");
        Assert.Equal(100, (await TrackedWorkspace.BodyAsync(response)).GetProperty("recorded").GetInt32());
        Assert.Equal(100, await hosts.Servers.CountAsync("SELECT count(*) FROM tracking.events WHERE workspace_id = @Id", new { tracked.Id }));
    }

    [Fact]
    public async Task An_impression_and_a_conversion_with_128_character_ids_are_recorded()
    {
        using var tracked = await TrackedWorkspace.CreateAsync(hosts);
        var (campaign, influencers) = await CampaignTests.CampaignAsync(tracked, 1_000_000m);
        // Ids chosen by the client: 1-128 letters, digits, '-', '_', '.' or ':' (JsonBody.Id); user_id: at most 128 characters.
        var impressionId = "imp:" + new string('i', 124);
        var conversionId = "conv." + new string('c', 123);
        var userId = new string('u', 128);

        var impression = await tracked.PostJsonAsync("/api/tracking/impressions",
            new { id = impressionId, campaign_id = campaign, influencer_id = influencers[0], user_id = userId, event_type = "impression" });
        var conversion = await tracked.PostJsonAsync("/api/tracking/conversions",
            new { id = conversionId, campaign_id = campaign, influencer_id = influencers[0], user_id = userId, conversion_type = "purchase", value = 1000m, currency = "COP" });

        Assert.True(impression.IsSuccessStatusCode, $"{(int)impression.StatusCode} {await impression.Content.ReadAsStringAsync(Cancel)}");
        Assert.True(conversion.IsSuccessStatusCode, $"{(int)conversion.StatusCode} {await conversion.Content.ReadAsStringAsync(Cancel)}");
        Assert.Equal(1, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.impressions WHERE workspace_id = @Id AND id = @impressionId AND user_id = @userId", new { tracked.Id, impressionId, userId }));
        Assert.Equal(1, await hosts.Servers.CountAsync(
            "SELECT count(*) FROM tracking.conversions WHERE workspace_id = @Id AND id = @conversionId", new { tracked.Id, conversionId }));
    }
}
