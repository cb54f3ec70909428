namespace Funnels.ServiceDefaults.Contacts;

/// <summary>
/// The format of a campaign's or influencer's external key (the id an attribution client already
/// uses, such as cmp-123 or inf-001): Tracking.Api owns the keys, the worker's filters accept them
/// too, so both read this one rule. A key is never UUID-shaped, so a reference is read as one or
/// the other without guessing.
/// </summary>
public static class ExternalKeyFormat
{
    public const int MaxLength = 64;

    public const string Rule = "must be 1-64 letters, digits, '-', '_', '.' or ':', starting with a letter or digit, and not a UUID";

    public const string ReferenceRule = "must be a UUID or an external key (1-64 letters, digits, '-', '_', '.' or ':')";

    public static bool IsValid(string key) =>
        key.Length is >= 1 and <= MaxLength && char.IsAsciiLetterOrDigit(key[0])
        && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':') && !Guid.TryParse(key, out _);

    /// <summary>A UUID or a well-formed external key.</summary>
    public static bool IsReference(string reference) => Guid.TryParse(reference, out _) || IsValid(reference);
}
