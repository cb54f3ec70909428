using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;

namespace Funnels.Runtime.WhatsApp;

/// <summary>
/// Messaging.Worker checks every flow binding, test-send and send against the channels it learnt
/// from WhatsAppChannelClaimed. Claims publish it in their transaction; at start this publishes it
/// for channels never announced (those claimed before the message existed), through the outbox,
/// marking them in the same transaction (the UPDATE locks its rows: two instances cannot both).
/// </summary>
public sealed class ChannelAnnouncements(IServiceScopeFactory scopes, NpgsqlDataSource dataSource, ILogger<ChannelAnnouncements> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var announced = await scopes.AnnounceUnannouncedAsync<Announced>(dataSource, """
            UPDATE runtime.whatsapp_channels SET announced_at = now() WHERE announced_at IS NULL
            RETURNING phone_number_id, workspace_id, access_token, changed_at
            """, channel => new WhatsAppChannelClaimed(channel.PhoneNumberId, channel.WorkspaceId, channel.AccessToken, ChannelsApi.ToOffset(channel.ChangedAt)),
            cancellationToken);
        if (announced > 0)
        {
            logger.LogInformation("Announced {Count} WhatsApp channel(s) with WhatsAppChannelClaimed", announced);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed record Announced(string PhoneNumberId, Guid WorkspaceId, string? AccessToken, DateTime ChangedAt);
}
