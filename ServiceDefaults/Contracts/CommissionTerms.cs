namespace Funnels.Contracts;

/// <summary>
/// How a conversion is paid: a fixed amount, or a percentage of the conversion's value.
/// Kind is "per_conversion_fixed" (Amount set) or "per_conversion_percent" (Percent set, 0-100).
/// </summary>
public readonly record struct CommissionTerms(Guid RuleId, string Kind, Money? Amount, decimal? Percent);
