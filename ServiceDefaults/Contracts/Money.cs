using System.Globalization;
using System.Text.Json.Serialization;
using Funnels.Contracts.Serialization;

namespace Funnels.Contracts;

/// <summary>
/// An amount of money in one ISO 4217 currency. Decimal only (no floating point touches money),
/// and arithmetic across currencies is an error rather than a silent wrong sum.
/// </summary>
[JsonConverter(typeof(MoneyJsonConverter))]
public readonly record struct Money
{
    [JsonConstructor]
    public Money(decimal amount, string currency)
    {
        if (currency is not { Length: 3 } || !currency.All(char.IsAsciiLetter))
        {
            throw new ArgumentException($"'{currency}' is not an ISO 4217 currency code.", nameof(currency));
        }
        Amount = amount;
        Currency = currency.ToUpperInvariant();
    }

    public decimal Amount { get; }
    public string Currency { get; }

    /// <summary>Decimals of the currency's minor unit (2 for COP and USD, 0 for JPY): the scale amounts are written with.</summary>
    [JsonIgnore]
    public int Scale => MinorUnits(Currency);

    public static Money Zero(string currency) => new(0m, currency);

    public static Money operator +(Money left, Money right) => new(left.Amount + right.Same(left).Amount, left.Currency);

    public static Money operator -(Money left, Money right) => new(left.Amount - right.Same(left).Amount, left.Currency);

    public Money Times(decimal factor) => new(Amount * factor, Currency);

    public static bool operator <(Money left, Money right) => left.Amount < right.Same(left).Amount;

    public static bool operator >(Money left, Money right) => left.Amount > right.Same(left).Amount;

    public static bool operator <=(Money left, Money right) => left.Amount <= right.Same(left).Amount;

    public static bool operator >=(Money left, Money right) => left.Amount >= right.Same(left).Amount;

    public static Money Min(Money left, Money right) => left <= right ? left : right;

    /// <summary>
    /// THE money rule: an amount owed, capped or paid is rounded to the currency's minor unit
    /// (ISO 4217 exponent) half to even ("banker's rounding"). Half-even because commissions are
    /// many small roundings summed into one budget: half-up would bias every tie upwards and the
    /// sum drifts above the exact total; half-even's ties cancel out on average. It is also
    /// decimal's own default (Math.Round), so no other path in the code rounds differently.
    /// </summary>
    public Money Rounded() => new(Math.Round(Amount, MinorUnits(Currency), MidpointRounding.ToEven), Currency);

    /// <summary>Rounds down to the currency's minor unit: what may be paid out of an exact accrual without exceeding it.</summary>
    public Money RoundedDown() => new(Math.Round(Amount, MinorUnits(Currency), MidpointRounding.ToZero), Currency);

    /// <summary>One minor unit of the currency (0.01 COP, 1 JPY, 0.001 KWD).</summary>
    public Money MinorUnit() => new(1m / Pow10(MinorUnits(Currency)), Currency);

    /// <summary>The ISO 4217 exponent (minor-unit digits) of a currency: 2 unless the standard lists it otherwise.</summary>
    public static int MinorUnits(string currency) => currency.ToUpperInvariant() switch
    {
        // ISO 4217 list one, exponent 0 (ISK and UGX and the CFA francs included).
        "BIF" or "CLP" or "DJF" or "GNF" or "ISK" or "JPY" or "KMF" or "KRW" or "PYG" or "RWF" or "UGX" or "UYI" or "VND" or "VUV"
            or "XAF" or "XOF" or "XPF" => 0,
        // Exponent 3 (the dinars and the Omani rial).
        "BHD" or "IQD" or "JOD" or "KWD" or "LYD" or "OMR" or "TND" => 3,
        // Exponent 4 (units of account).
        "CLF" or "UYW" => 4,
        _ => 2,
    };

    private static decimal Pow10(int digits) => digits switch { 0 => 1m, 1 => 10m, 2 => 100m, 3 => 1000m, _ => 10000m };

    public override string ToString() => $"{Amount.ToString(CultureInfo.InvariantCulture)} {Currency}";

    private Money Same(Money other) => Currency == other.Currency
        ? this
        : throw new InvalidOperationException($"Cannot combine {Currency} with {other.Currency}: convert first.");
}
