using System.Globalization;
using System.Text.Json.Serialization;

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

    /// <summary>Rounds to the currency's minor unit (2 decimals; 0 for currencies without cents).</summary>
    public Money Rounded() => new(Math.Round(Amount, MinorUnits(Currency), MidpointRounding.ToEven), Currency);

    /// <summary>Rounds down to the currency's minor unit: what may be paid out of an exact accrual without exceeding it.</summary>
    public Money RoundedDown() => new(Math.Round(Amount, MinorUnits(Currency), MidpointRounding.ToZero), Currency);

    public override string ToString() => $"{Amount.ToString(CultureInfo.InvariantCulture)} {Currency}";

    private Money Same(Money other) => Currency == other.Currency
        ? this
        : throw new InvalidOperationException($"Cannot combine {Currency} with {other.Currency}: convert first.");

    private static int MinorUnits(string currency) => currency switch
    {
        "JPY" or "KRW" or "CLP" or "PYG" or "VND" or "ISK" or "UGX" => 0,
        _ => 2,
    };
}
