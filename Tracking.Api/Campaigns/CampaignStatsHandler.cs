using Dapper;
using Funnels.Contracts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;
using static Funnels.Tracking.Extensions.Extensions;

namespace Funnels.Tracking.Campaigns;

/// <summary>
/// Keeps the campaign_stats read model current: one row for the campaign's totals (nil
/// influencer) and one per influencer. Each event is counted once: its business key is claimed
/// in the same transaction as the increment.
/// </summary>
public static class CampaignStatsHandler
{
    private const string Consumer = "campaign-stats";

    public static Task Handle(ImpressionRecorded message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        ApplyAsync(context, dataSource, $"impression:{message.WorkspaceId}:{message.ImpressionId}", message.CampaignId, message.InfluencerId, message.Currency,
            new Delta(Impressions: message.EventType == "impression" ? 1 : 0, Clicks: message.EventType == "click" ? 1 : 0), cancellationToken);

    public static Task Handle(ConversionRecorded message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        ApplyAsync(context, dataSource, $"conversion:{message.WorkspaceId}:{message.ConversionId}", message.CampaignId, message.InfluencerId, message.Value.Currency,
            new Delta(Conversions: 1, Revenue: message.Value.Amount), cancellationToken);

    public static Task Handle(CommissionCalculated message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        ApplyAsync(context, dataSource, $"commission:{message.CommissionId}", message.CampaignId, message.InfluencerId, message.Amount.Currency,
            new Delta(Commission: message.Amount.Amount), cancellationToken);

    public static Task Handle(CommissionReversed message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        ApplyAsync(context, dataSource, $"commission-reversed:{message.CommissionId}", message.CampaignId, message.InfluencerId, message.Amount.Currency,
            new Delta(Commission: -message.Amount.Amount), cancellationToken);

    /// <summary>A refund takes the conversion's value back out of the revenue.</summary>
    public static Task Handle(ConversionRefunded message, IMessageContext context, NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var conversion = await transaction.Connection!.QuerySingleOrDefaultAsync<RefundedConversion>("""
                SELECT influencer_id, value_amount, currency FROM tracking.conversions WHERE workspace_id = @WorkspaceId AND id = @ConversionId
                """, message, transaction);
            if (conversion is null || !await transaction.TryClaimAsync(Schema, Consumer, $"refund:{message.WorkspaceId}:{message.ConversionId}", cancellationToken))
            {
                return;
            }
            await IncrementAsync(transaction, message.CampaignId, conversion.InfluencerId, conversion.Currency,
                new Delta(Refunds: 1, Revenue: -conversion.ValueAmount));
        }, cancellationToken);

    private sealed record RefundedConversion(Guid InfluencerId, decimal ValueAmount, string Currency);

    private sealed record Delta(long Impressions = 0, long Clicks = 0, long Conversions = 0, long Refunds = 0, decimal Revenue = 0, decimal Commission = 0);

    private static Task ApplyAsync(
        IMessageContext context, NpgsqlDataSource dataSource, string key, Guid campaignId, Guid influencerId, string currency, Delta delta, CancellationToken cancellationToken) =>
        context.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            if (await transaction.TryClaimAsync(Schema, Consumer, key, cancellationToken))
            {
                await IncrementAsync(transaction, campaignId, influencerId, currency, delta);
            }
        }, cancellationToken);

    private static Task IncrementAsync(NpgsqlTransaction transaction, Guid campaignId, Guid influencerId, string currency, Delta delta) =>
        // Totals first, then the influencer: every handler takes the rows in the same order.
        transaction.Connection!.ExecuteAsync("""
            INSERT INTO tracking.campaign_stats AS s (campaign_id, influencer_id, impressions, clicks, conversions, refunds, revenue_amount, commission_amount, currency)
            SELECT @campaignId, i, @Impressions, @Clicks, @Conversions, @Refunds, @Revenue, @Commission, @currency
            FROM unnest(ARRAY['00000000-0000-0000-0000-000000000000'::uuid, @influencerId]) AS i
            ORDER BY i = @influencerId
            ON CONFLICT (campaign_id, influencer_id) DO UPDATE SET
                impressions = s.impressions + EXCLUDED.impressions, clicks = s.clicks + EXCLUDED.clicks,
                conversions = s.conversions + EXCLUDED.conversions, refunds = s.refunds + EXCLUDED.refunds,
                revenue_amount = s.revenue_amount + EXCLUDED.revenue_amount, commission_amount = s.commission_amount + EXCLUDED.commission_amount,
                updated_at = now()
            """, new { campaignId, influencerId, currency, delta.Impressions, delta.Clicks, delta.Conversions, delta.Refunds, delta.Revenue, delta.Commission }, transaction);
}
