using Funnels.Contracts;

namespace Funnels.Messaging.Commissions;

/// <summary>The pure part: what a conversion earns under its terms, and what the budget still allows.</summary>
public static class CommissionCalculator
{
    public static Money Compute(CommissionTerms terms, Money value) => terms.Kind switch
    {
        "per_conversion_fixed" => (terms.Amount ?? throw new InvalidOperationException($"Rule {terms.RuleId} has no amount.")).Rounded(),
        "per_conversion_percent" => value.Times((terms.Percent ?? 0m) / 100m).Rounded(),
        _ => throw new InvalidOperationException($"Rule kind {terms.Kind} does not pay per conversion."),
    };

    /// <summary>
    /// What one click (per_click: the amount) or impression (per_mille_impressions: amount/1000)
    /// earns, exact and unrounded: accrued sums are rounded only when paid.
    /// </summary>
    public static Money ComputeTraffic(CommissionTerms terms, string eventType)
    {
        var amount = terms.Amount ?? throw new InvalidOperationException($"Rule {terms.RuleId} has no amount.");
        return (terms.Kind, eventType) switch
        {
            ("per_click", "click") => amount,
            ("per_mille_impressions", "impression") => amount.Times(0.001m),
            _ => throw new InvalidOperationException($"Rule kind {terms.Kind} does not pay a {eventType}."),
        };
    }

    /// <summary>
    /// Never beyond the remaining budget, never below zero. Both sides are in minor units: the
    /// computed amount is rounded by the money rule (Money.Rounded), the budget rounded down and
    /// committed holds only minor-unit amounts, so what is committed never exceeds the budget.
    /// </summary>
    public static (Money Amount, bool Capped) Cap(Money computed, Money budget, Money committed)
    {
        var remaining = budget.RoundedDown() - committed;
        if (remaining < Money.Zero(budget.Currency))
        {
            remaining = Money.Zero(budget.Currency);
        }
        var owed = computed.Rounded();
        return owed > remaining ? (remaining, true) : (owed, false);
    }
}
