using System.Text;
using System.Text.Json;
using Funnels.ServiceDefaults.Contacts;

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
        // "null", "undefined" and other values that are not t.js's visitor ids identify nobody (VisitorIds).
        return new LeadIdentity(email, phone, VisitorIds.Read(visitorId, "runtime-events"));
    }

    public static string? NormalizeEmail(string email)
    {
        var trimmed = email.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
        return trimmed.Contains('@') ? trimmed : null;
    }

    /// <summary>"+" and the E.164 digits: "+57 (300) 123-4567" and "573001234567" are both "+573001234567" (PhoneNumbers).</summary>
    public static string? NormalizePhone(string phone) => PhoneNumbers.E164(phone);
}
