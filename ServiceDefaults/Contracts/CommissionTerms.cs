namespace Funnels.Contracts;

/// <summary>
/// How a commission is paid: a fixed amount or a percentage of a conversion's value, or an amount
/// per click or per thousand impressions. Kind is "per_conversion_fixed", "per_click" or
/// "per_mille_impressions" (Amount set) or "per_conversion_percent" (Percent set, 0-100).
/// </summary>
public readonly record struct CommissionTerms(Guid RuleId, string Kind, Money? Amount, decimal? Percent);
