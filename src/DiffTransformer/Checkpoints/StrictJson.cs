using System.Text.Json;

namespace DiffTransformer;

/// <summary>JSON from files the library reads, where any malformed byte must become the caller's own error.</summary>
internal static class StrictJson
{
    /// <summary>
    /// Parses <paramref name="utf8"/> as a JSON document; invalid UTF-8 or JSON throws what <paramref name="bad"/> makes
    /// of the reason ("not valid UTF-8", "not valid JSON (...)"). System.Text.Json checks UTF-8 only when a string is
    /// read, and an escaped lone surrogate (<c>"\uDC00"</c>) only when that string is read, with an
    /// InvalidOperationException: both are checked here up front, so that every string of the document can be read.
    /// </summary>
    public static JsonDocument Parse(byte[] utf8, Func<string, Exception> bad)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8)) throw bad("not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw bad($"not valid JSON ({e.Message})");
        }
        try
        {
            CheckStrings(document.RootElement);
        }
        catch (InvalidOperationException e)
        {
            document.Dispose();
            throw bad($"not valid JSON text: a string or name escapes an invalid UTF-16 sequence ({e.Message})");
        }
        return document;
    }

    /// <summary>Reads every string and property name under <paramref name="element"/> once (the document's depth is bounded at 64).</summary>
    private static void CheckStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) CheckStrings(item);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    CheckStrings(property.Value);
                }
                break;
        }
    }
}
