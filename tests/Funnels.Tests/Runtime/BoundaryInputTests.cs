using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Runtime;

/// <summary>Inputs exactly at a documented limit of the events endpoint are accepted (the fuzz proves one past it is refused).</summary>
[Collection(ServicesCollection.Name)]
public sealed class BoundaryInputTests(Hosts hosts)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_event_at_every_limit_of_the_events_endpoint_is_accepted()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var body = new JsonObject
        {
            ["publication_slug"] = funnel.Slug,
            ["event_type"] = "FORM_SUBMIT",
            ["payload"] = new JsonObject
            {
                ["page_id"] = "signup",
                ["visitor_id"] = new string('v', 128), // payload.visitor_id: at most 128 characters
                ["form_data"] = new JsonObject
                {
                    ["email"] = "edge@example.com", ["name"] = new string('n', 20), ["plan"] = "basic", ["accept"] = true,
                },
            },
        };
        // The body exactly 64 KiB (EventRequestReader.MaxBodyBytes), padded in fields the page does not name,
        // each at most 10,000 characters (the first exactly that).
        var form = body["payload"]!["form_data"]!.AsObject();
        for (var i = 0; i < 7; i++) form[$"note{i}"] = "";
        var room = 64 * 1024 - Encoding.UTF8.GetByteCount(body.ToJsonString());
        for (var i = 0; i < 7 && room > 0; i++)
        {
            var length = Math.Min(10_000, room);
            form[$"note{i}"] = new string('x', length);
            room -= length;
        }
        var text = body.ToJsonString();
        Assert.Equal(64 * 1024, Encoding.UTF8.GetByteCount(text));

        var response = await funnel.PostRawAsync(text, idempotencyKey: new string('k', 200)); // Idempotency-Key: up to 200 characters

        var answer = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {answer}");
        Assert.Equal("created", JsonDocument.Parse(answer).RootElement.GetProperty("status").GetString());
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id AND email = 'edge@example.com'", new { workspace.Id }));
    }
}
