namespace Funnels.Messaging.Commissions;

/// <summary>Commission settings ("Commissions" configuration section).</summary>
public sealed class CommissionSettings
{
    /// <summary>
    /// The payout period of traffic commissions for campaigns without an end date: unset means
    /// calendar months (UTC); a length (tests use seconds) means fixed periods counted from the Unix epoch.
    /// </summary>
    public TimeSpan? TrafficPayoutPeriod { get; set; }
}

/// <summary>
/// Which payout a click or impression accrues into. A campaign with an end date pays its traffic
/// once, at its end plus its refund window; a campaign without one pays per period (calendar
/// months by default), each at the period's end plus the refund window. Traffic recorded after
/// the campaign's end is not paid.
/// </summary>
public static class TrafficPayoutPeriod
{
    /// <summary>The refund window of a message that predates the field: the campaigns' default.</summary>
    public static readonly TimeSpan DefaultRefundWindow = TimeSpan.FromDays(30);

    public static (DateTime EndsAt, DateTime DueAt)? Of(DateTime recordedAt, DateTime? campaignEndsAt, TimeSpan refundWindow, TimeSpan? fixedPeriod)
    {
        if (campaignEndsAt is { } end)
        {
            return recordedAt < end ? (end, end + refundWindow) : null;
        }
        var periodEnd = fixedPeriod is { Ticks: > 0 } period
            ? new DateTime((recordedAt.Ticks - DateTime.UnixEpoch.Ticks) / period.Ticks * period.Ticks + period.Ticks + DateTime.UnixEpoch.Ticks, DateTimeKind.Utc)
            : new DateTime(recordedAt.Year, recordedAt.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        return (periodEnd, periodEnd + refundWindow);
    }
}
