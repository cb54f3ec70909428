using System.Globalization;

namespace Funnels.Admin.Api;

/// <summary>
/// Money as the APIs send it: an exact decimal and an ISO 4217 code. Shown with at least two
/// decimals and every further digit it has (accrued traffic commissions carry more), never as a float.
/// </summary>
public sealed record Money(decimal Amount, string Currency)
{
    public override string ToString()
    {
        var extra = Math.Max(0, Amount.Scale - 2);
        return Amount.ToString("#,##0.00" + new string('#', extra), CultureInfo.InvariantCulture) + " " + Currency;
    }
}
