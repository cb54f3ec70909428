using Dapper;
using Funnels.Contracts;
using Npgsql;

namespace Funnels.Messaging.WhatsApp;

/// <summary>
/// Keeps messaging.whatsapp_channels as Runtime.Api last announced it: a claim or a release
/// applies only when it is newer than what is stored, so repeats and late arrivals change nothing.
/// </summary>
public static class WhatsAppChannelClaimedHandler
{
    public static async Task Handle(WhatsAppChannelClaimed message, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO messaging.whatsapp_channels (phone_number_id, workspace_id, access_token, changed_at) VALUES (@PhoneNumberId, @WorkspaceId, @AccessToken, @changedAt)
            ON CONFLICT (phone_number_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, access_token = EXCLUDED.access_token, changed_at = EXCLUDED.changed_at
                WHERE whatsapp_channels.changed_at < EXCLUDED.changed_at
            """, new { message.PhoneNumberId, message.WorkspaceId, message.AccessToken, changedAt = message.ChangedAt.UtcDateTime });
    }
}

public static class WhatsAppChannelReleasedHandler
{
    public static async Task Handle(WhatsAppChannelReleased message, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO messaging.whatsapp_channels (phone_number_id, workspace_id, access_token, changed_at) VALUES (@PhoneNumberId, NULL, NULL, @changedAt)
            ON CONFLICT (phone_number_id) DO UPDATE SET workspace_id = NULL, access_token = NULL, changed_at = EXCLUDED.changed_at
                WHERE whatsapp_channels.changed_at < EXCLUDED.changed_at
            """, new { message.PhoneNumberId, changedAt = message.ChangedAt.UtcDateTime });
    }
}

/// <summary>Whether a phone-number id is one of a workspace's channels (what every flow binding, test-send and send is checked against).</summary>
public static class WorkspaceChannels
{
    public const string NotYours = "is not one of this workspace's WhatsApp numbers: claim it on the Channels page first";

    public static Task<bool> OwnsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid workspace, string phoneNumberId) =>
        connection.ExecuteScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM messaging.whatsapp_channels WHERE phone_number_id = @phoneNumberId AND workspace_id = @workspace)",
            new { phoneNumberId, workspace }, transaction);
}
