using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Funnels.ServiceDefaults.Contacts;

namespace Funnels.Runtime.Funnels;

/// <summary>
/// Checks submitted form data against the fields of the page it was submitted on. Fields the
/// page does not declare are kept (tracking scripts add hidden ones such as a visitor id) but
/// must be plain values. Each error names the field, as problem-details "errors" do.
/// </summary>
public static class FormValidator
{
    public const int MaxFields = 100;
    public const int MaxValueLength = 10_000;

    private static readonly Regex EmailShape = new(@"^[^@\s]+@[^@\s]+\.[^@\s]+$", RegexOptions.Compiled);

    public static Dictionary<string, string[]> Validate(FunnelPage page, JsonElement formData)
    {
        var errors = new Dictionary<string, string[]>();
        if (formData.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            formData = JsonDocument.Parse("{}").RootElement;
        }
        if (formData.ValueKind != JsonValueKind.Object)
        {
            errors["payload.form_data"] = ["must be an object of field names to values"];
            return errors;
        }

        var values = formData.EnumerateObject().ToList();
        if (values.Count > MaxFields)
        {
            errors["payload.form_data"] = [$"at most {MaxFields} fields"];
            return errors;
        }
        foreach (var value in values)
        {
            if (value.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                errors[Key(value.Name)] = ["must be a plain value (text, number or true/false)"];
            }
            else if (value.Value.ValueKind == JsonValueKind.String && value.Value.GetString()!.Length > MaxValueLength)
            {
                errors[Key(value.Name)] = [$"must be at most {MaxValueLength} characters"];
            }
        }

        foreach (var field in page.Fields)
        {
            var present = formData.TryGetProperty(field.Name, out var value) && !IsBlank(value);
            if (!present)
            {
                if (field.Required)
                {
                    errors[Key(field.Name)] = ["is required"];
                }
                continue;
            }
            if (!errors.ContainsKey(Key(field.Name)) && Check(field, value) is { } problem)
            {
                errors[Key(field.Name)] = [problem];
            }
        }
        return errors;
    }

    private static string Key(string field) => $"payload.form_data.{field}";

    private static bool IsBlank(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => true,
        JsonValueKind.String => string.IsNullOrWhiteSpace(value.GetString()),
        _ => false,
    };

    private static string? Check(FormField field, JsonElement value)
    {
        switch (field.Type)
        {
            case FieldType.Checkbox:
                return AsBoolean(value) is null ? "must be true or false" : field.Required && AsBoolean(value) == false ? "must be checked" : null;
            case FieldType.Number:
                return value.ValueKind == JsonValueKind.Number
                    || (value.ValueKind == JsonValueKind.String && decimal.TryParse(value.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out _))
                    ? null : "must be a number";
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return "must be text";
        }
        var text = value.GetString()!;
        if (field.MaxLength is { } max && text.Length > max)
        {
            return $"must be at most {max} characters";
        }
        switch (field.Type)
        {
            case FieldType.Email when !EmailShape.IsMatch(text.Trim()) || text.Length > 254:
                return "must be an email address";
            case FieldType.Phone when LeadIdentity.NormalizePhone(text) is null:
                return PhoneNumbers.Rule;
        }
        if (field.Pattern is { } pattern)
        {
            try
            {
                if (!Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100)))
                {
                    return $"does not match the pattern {pattern}";
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return "could not be checked against its pattern in time";
            }
        }
        return null;
    }

    public static bool? AsBoolean(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => value.GetString()!.Trim().ToLowerInvariant() switch
        {
            "true" or "on" or "yes" or "1" => true,
            "false" or "off" or "no" or "0" => false,
            _ => null,
        },
        _ => null,
    };
}
