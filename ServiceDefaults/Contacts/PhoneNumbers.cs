namespace Funnels.ServiceDefaults.Contacts;

/// <summary>
/// One phone number, one person: every service stores and matches phone numbers and WhatsApp ids
/// through this. The identity is the digits of the E.164 number ("16505551234", what Meta sends
/// as wa_id); stored phone columns hold it with one '+' ("+16505551234"). So "+16505551234",
/// "16505551234", "+1 (650) 555-1234" and "++16505551234" are the same number. A leading "00"
/// (the international call prefix) is dropped, since no E.164 country code starts with 0. A
/// number without its country code cannot be completed here and keeps the digits it has.
/// </summary>
public static class PhoneNumbers
{
    public const int MinDigits = 7;
    public const int MaxDigits = 15;
    public const string Rule = "must be a phone number with its country code: 7 to 15 digits, optionally with '+', spaces, dashes, dots or parentheses (+1 650 555 1234)";

    /// <summary>The E.164 digits (no '+'), or null when the text is not a phone number.</summary>
    public static string? Digits(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        Span<char> digits = stackalloc char[MaxDigits + 2];
        var count = 0;
        var sawPlus = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == digits.Length) return null;
                digits[count++] = c;
            }
            else if (c == '+')
            {
                // Only in front of the number ("+1", a doubled "++1"): a '+' between digits is not a phone number.
                if (count > 0) return null;
                sawPlus = true;
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')' or '\u00A0'))
            {
                return null;
            }
        }
        var number = digits[..count];
        if (!sawPlus && number.StartsWith("00"))
        {
            number = number[2..];
        }
        return number.Length is >= MinDigits and <= MaxDigits ? new string(number) : null;
    }

    /// <summary>The number as stored in phone columns: "+" and its E.164 digits, or null when it is not a phone number.</summary>
    public static string? E164(string? text) => Digits(text) is { } digits ? "+" + digits : null;
}
