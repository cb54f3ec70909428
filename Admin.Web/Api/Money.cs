using System.Globalization;

namespace Funnels.Admin.Api;

/// <summary>
/// Money as the APIs send it: an exact decimal and an ISO 4217 code. Shown with the currency's
/// scale (19,845.67 COP; 1,500 JPY) and every further digit it has (accrued traffic commissions
/// carry more), never as a float.
/// </summary>
public sealed record Money(decimal Amount, string Currency)
{
    public override string ToString()
    {
        var scale = Scale(Currency);
        var extra = Math.Max(0, Amount.Scale - scale);
        var decimals = new string('0', scale) + new string('#', extra);
        return Amount.ToString(decimals.Length > 0 ? "#,##0." + decimals : "#,##0", CultureInfo.InvariantCulture) + " " + Currency;
    }

    /// <summary>The minor unit's decimals, by the one list the services use (Funnels.Contracts.Money).</summary>
    private static int Scale(string currency) =>
        currency is { Length: 3 } && currency.All(char.IsAsciiLetter) ? new Funnels.Contracts.Money(0m, currency).Scale : 2;
}
