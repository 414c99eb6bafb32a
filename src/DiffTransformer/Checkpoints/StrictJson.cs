using System.Text.Json;

namespace DiffTransformer;

/// <summary>JSON from files the library reads, where any malformed byte must become the caller's own error.</summary>
internal static class StrictJson
{
    /// <summary>
    /// Parses <paramref name="utf8"/> as a JSON document; invalid UTF-8 or JSON throws what <paramref name="bad"/> makes
    /// of the reason ("not valid UTF-8", "not valid JSON (...)"). System.Text.Json checks UTF-8 only when a string is
    /// read, so it is checked here up front.
    /// </summary>
    public static JsonDocument Parse(byte[] utf8, Func<string, Exception> bad)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8)) throw bad("not valid UTF-8");
        try
        {
            return JsonDocument.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw bad($"not valid JSON ({e.Message})");
        }
    }
}
