using System.Net.Http.Json;
using Npgsql;

namespace Funnels.AppHost.Tests;

/// <summary>
/// WhatsApp numbers for the topology's tests: claimed with the proof Runtime.Api asks for (a token
/// the Graph API stand-in accepts for the number), and known to Messaging.Worker before a test
/// binds a flow to one (it learns claims from Runtime.Api a moment later).
/// </summary>
public static class ChannelClaims
{
    public static string NewPhoneNumberId() => "1" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999);

    /// <summary>Claims a fresh number through the API as the client's workspace owner; returns its id.</summary>
    public static async Task<string> ClaimAsync(TopologyFixture topology, HttpClient runtime)
    {
        var channel = NewPhoneNumberId();
        var token = "topology-token-" + channel;
        topology.Graph.Grant(token, channel);
        var response = await runtime.PutAsJsonAsync($"/api/runtime/whatsapp/channels/{channel}", new Dictionary<string, string> { ["access_token"] = token });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await KnownToWorkerAsync(topology, channel);
        return channel;
    }

    /// <summary>Waits until Messaging.Worker knows that some workspace owns the number.</summary>
    public static Task KnownToWorkerAsync(TopologyFixture topology, string channel) => Panel.Until(async () =>
    {
        await using var connection = new NpgsqlConnection(await topology.DatabaseAsync());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM messaging.whatsapp_channels WHERE phone_number_id = @channel AND workspace_id IS NOT NULL", connection);
        command.Parameters.AddWithValue("channel", channel);
        return Convert.ToInt64(await command.ExecuteScalarAsync()) > 0;
    }, $"Messaging.Worker to know channel {channel}");
}
