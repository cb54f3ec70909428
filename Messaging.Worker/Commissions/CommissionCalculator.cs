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

    /// <summary>Never beyond the remaining budget, never below zero.</summary>
    public static (Money Amount, bool Capped) Cap(Money computed, Money budget, Money committed)
    {
        var remaining = budget - committed;
        if (remaining < Money.Zero(budget.Currency))
        {
            remaining = Money.Zero(budget.Currency);
        }
        return computed > remaining ? (remaining, true) : (computed, false);
    }
}
