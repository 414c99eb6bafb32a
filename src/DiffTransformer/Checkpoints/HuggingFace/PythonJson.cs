using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// JSON as Python's <c>json.dumps(obj, indent=2, sort_keys=True) + "\n"</c> writes it, which is how transformers
/// writes <c>config.json</c>, <c>generation_config.json</c> and the shard index: 2-space indent, <c>": "</c>, floats in
/// Python's <c>repr</c> (<c>10000.0</c>, <c>1e-06</c>, <c>0.02</c>). Callers write keys in sorted order.
/// </summary>
internal static class PythonJson
{
    /// <summary>Writes an indented document through <paramref name="write"/> and returns its UTF-8 bytes, newline-terminated.</summary>
    public static byte[] Document(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true })) // 2 spaces
            write(writer);
        // The writer ends lines with Environment.NewLine (net8.0 cannot set it); Python writes "\n". Strings escape
        // their own line breaks, so every CR here is a line ending.
        string text = Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text + "\n");
    }

    /// <summary>Writes <paramref name="value"/> as Python's <c>repr(float)</c> does.</summary>
    public static void WriteFloat(Utf8JsonWriter writer, string key, double value)
    {
        writer.WritePropertyName(key);
        writer.WriteRawValue(FloatRepr(value), skipInputValidation: false);
    }

    /// <summary>
    /// Python's <c>repr</c> of a finite double: the shortest digits that round-trip, positional when the decimal
    /// exponent is in [-4, 16) (with <c>.0</c> for integral values), else scientific with a signed two-digit exponent.
    /// </summary>
    public static string FloatRepr(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "JSON cannot hold a non-finite number.");
        // "R" gives the shortest round-tripping digits (since .NET Core 3.0), positional or with an exponent.
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        bool negative = shortest.StartsWith('-');
        string body = negative ? shortest[1..] : shortest;
        int exponent = 0;
        int e = body.IndexOfAny(new[] { 'E', 'e' });
        if (e >= 0)
        {
            exponent = int.Parse(body[(e + 1)..], CultureInfo.InvariantCulture);
            body = body[..e];
        }
        int point = body.IndexOf('.');
        string digits = point < 0 ? body : body.Remove(point, 1);
        int intLength = point < 0 ? body.Length : point;
        // Normalise: strip leading zeros (value = 0.digits * 10^(intLength + exponent)).
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; intLength--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) return negative ? "-0.0" : "0.0";
        int decimalExponent = intLength + exponent - 1; // of the first digit
        var s = new StringBuilder(negative ? "-" : "");
        if (decimalExponent >= -4 && decimalExponent < 16)
        {
            if (decimalExponent < 0) s.Append("0.").Append('0', -decimalExponent - 1).Append(digits);
            else if (digits.Length <= decimalExponent + 1) s.Append(digits).Append('0', decimalExponent + 1 - digits.Length).Append(".0");
            else s.Append(digits, 0, decimalExponent + 1).Append('.').Append(digits, decimalExponent + 1, digits.Length - decimalExponent - 1);
        }
        else
        {
            s.Append(digits[0]);
            if (digits.Length > 1) s.Append('.').Append(digits, 1, digits.Length - 1);
            s.Append('e').Append(decimalExponent < 0 ? '-' : '+').Append(Math.Abs(decimalExponent).ToString("00", CultureInfo.InvariantCulture));
        }
        return s.ToString();
    }
}
