using System.Text.Json;
using System.Text.Json.Serialization;

namespace Funnels.Contracts.Serialization;

/// <summary>
/// The one JSON rule for Money: {"amount": 19845.67, "currency": "COP"}, the amount written with
/// the currency's scale (19845.67000 → 19845.67, 0.00000 → 0.00, 361.5 → 361.50, 1000000.0 →
/// 1000000.00). Only trailing zeros change: the value is exactly the one stored, so an exact
/// accrual that has more digits than the minor unit (22.83945) keeps them. On the type itself, so
/// API answers and messages write the same; reading accepts any scale.
/// </summary>
/// <remarks>
/// Hand-written because System.Text.Json writes a decimal with whatever scale the arithmetic or
/// the numeric column gave it, and has no setting for a per-currency number format.
/// </remarks>
public sealed class MoneyJsonConverter : JsonConverter<Money>
{
    public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("Money is an object: {\"amount\": 19845.67, \"currency\": \"COP\"}.");
        decimal? amount = null;
        string? currency = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName) throw new JsonException("Money: a property name was expected.");
            var name = reader.GetString();
            reader.Read();
            if (string.Equals(name, "amount", StringComparison.OrdinalIgnoreCase))
            {
                amount = reader.TokenType == JsonTokenType.String && options.NumberHandling.HasFlag(JsonNumberHandling.AllowReadingFromString)
                    ? decimal.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                    : reader.GetDecimal();
            }
            else if (string.Equals(name, "currency", StringComparison.OrdinalIgnoreCase))
            {
                currency = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }
        if (amount is null || currency is null) throw new JsonException("Money needs both amount and currency.");
        try
        {
            return new Money(amount.Value, currency);
        }
        catch (ArgumentException ex)
        {
            throw new JsonException(ex.Message, ex);
        }
    }

    public override void Write(Utf8JsonWriter writer, Money value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber(options.PropertyNamingPolicy?.ConvertName("Amount") ?? "Amount", WithScale(value.Amount, value.Scale));
        writer.WriteString(options.PropertyNamingPolicy?.ConvertName("Currency") ?? "Currency", value.Currency);
        writer.WriteEndObject();
    }

    /// <summary>The same value with its trailing zeros dropped, then padded back to at least the given scale.</summary>
    public static decimal WithScale(decimal amount, int scale)
    {
        // Dividing by 1.000…0 (28 decimals) is decimal's documented way to drop trailing zeros; adding a
        // zero of scale n pads to at least n (a sum keeps the larger scale).
        var trimmed = amount / 1.0000000000000000000000000000m;
        return trimmed + new decimal(0, 0, 0, false, (byte)scale);
    }
}
