using System.Text;
using System.Text.Json;

namespace Funnels.Runtime.Funnels;

/// <summary>
/// Who a submission is, within a workspace: the normalised email, else the normalised phone,
/// else the visitor id from the tracking script. The same person submitting again is the same lead.
/// </summary>
public sealed record LeadIdentity(string? Email, string? Phone, string? VisitorId)
{
    public bool IsKnown => Email is not null || Phone is not null || VisitorId is not null;

    /// <summary>The identity values in a stable order, used as lock keys so concurrent submissions of one person serialise.</summary>
    public IEnumerable<string> Keys()
    {
        if (Email is not null) yield return "email:" + Email;
        if (Phone is not null) yield return "phone:" + Phone;
        if (VisitorId is not null) yield return "visitor:" + VisitorId;
    }

    public static LeadIdentity From(FunnelSchema schema, JsonElement formData, string? visitorId)
    {
        string? email = null, phone = null;
        var fields = schema.Pages.SelectMany(p => p.Fields).ToList();
        if (formData.ValueKind == JsonValueKind.Object)
        {
            foreach (var value in formData.EnumerateObject().Where(v => v.Value.ValueKind == JsonValueKind.String))
            {
                var type = fields.FirstOrDefault(f => f.Name == value.Name)?.Type;
                // Declared field types win; undeclared fields named like the usual ones count too.
                if (email is null && (type == FieldType.Email || (type is null && value.Name.Equals("email", StringComparison.OrdinalIgnoreCase))))
                {
                    email = NormalizeEmail(value.Value.GetString()!);
                }
                else if (phone is null && (type == FieldType.Phone || (type is null && value.Name.Equals("phone", StringComparison.OrdinalIgnoreCase))))
                {
                    phone = NormalizePhone(value.Value.GetString()!);
                }
            }
        }
        var visitor = string.IsNullOrWhiteSpace(visitorId) ? null : visitorId.Trim();
        return new LeadIdentity(email, phone, visitor is { Length: <= 128 } ? visitor : null);
    }

    public static string? NormalizeEmail(string email)
    {
        var trimmed = email.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
        return trimmed.Contains('@') ? trimmed : null;
    }

    /// <summary>Digits only, with a leading + kept: "+57 (300) 123-4567" becomes "+573001234567".</summary>
    public static string? NormalizePhone(string phone)
    {
        var trimmed = phone.Trim();
        if (trimmed.Any(c => !(char.IsAsciiDigit(c) || c is ' ' or '-' or '(' or ')' or '.' or '+')) || trimmed.LastIndexOf('+') > 0)
        {
            return null;
        }
        var digits = new string(trimmed.Where(char.IsAsciiDigit).ToArray());
        if (digits.Length is < 7 or > 15)
        {
            return null;
        }
        return trimmed.StartsWith('+') ? "+" + digits : digits;
    }
}
