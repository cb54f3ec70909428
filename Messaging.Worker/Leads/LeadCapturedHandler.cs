using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Triggers;
using Funnels.Messaging.Webhooks;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Leads;

/// <summary>
/// What a captured lead starts in the worker: its webhook deliveries and its lead-triggered flows,
/// in one outbox transaction. Most workspaces have neither for most leads, so one read without a
/// transaction asks first and the transaction is opened only when there is something to write.
/// Both effects stay idempotent on their own keys, so a repeated LeadCaptured changes nothing.
/// </summary>
public static class LeadCapturedHandler
{
    public static async Task Handle(LeadCaptured message, IMessageContext bus, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var digits = LeadCapturedFlows.Digits(message);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            var work = await connection.QuerySingleAsync<Work>(new CommandDefinition($"""
                SELECT EXISTS (SELECT 1 FROM messaging.webhook_endpoints e
                               WHERE e.workspace_id = @WorkspaceId AND e.active AND @eventType = ANY (e.events)) AS webhooks,
                       @phone AND {LeadCapturedFlows.AnyMatching} AS flows
                """, new { message.WorkspaceId, message.FunnelId, eventType = WebhookFanoutHandler.LeadCapturedEvent, phone = digits is not null },
                cancellationToken: cancellationToken));
            if (!work.Webhooks && !work.Flows)
            {
                return;
            }
        }
        await bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            await WebhookFanoutHandler.FanOutAsync(transaction, bus, message.WorkspaceId, WebhookFanoutHandler.LeadCapturedEvent, message.LeadId.ToString(), message);
            if (digits is not null)
            {
                await LeadCapturedFlows.StartAsync(transaction, bus, message, digits);
            }
        }, cancellationToken);
    }

    private sealed record Work(bool Webhooks, bool Flows);
}
