using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// Reads the JSON files of a Hugging Face model directory; every malformed file or field becomes an
/// <see cref="InvalidDataException"/> that names the file, the field, the rule and the value found.
/// </summary>
internal static class HfJson
{
    /// <summary>Parses the file at <paramref name="path"/> (UTF-8 JSON whose root is an object).</summary>
    public static JsonDocument Read(string path)
    {
        var document = StrictJson.Parse(File.ReadAllBytes(path), reason => Bad(path, "the file is " + reason));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw Bad(path, $"the root must be a JSON object; it is {Describe(kind)}");
        }
        return document;
    }

    /// <summary>The error for a file that breaks a rule: <c>'path': message.</c></summary>
    public static InvalidDataException Bad(string path, string message) => new($"'{path}': {message}.");

    /// <summary>The member <paramref name="name"/> of <paramref name="obj"/>, or null when absent or JSON null.</summary>
    public static JsonElement? Member(JsonElement obj, string name)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>A string member, or null when absent or null; another kind throws.</summary>
    public static string? String(JsonElement obj, string name, string field, string path)
    {
        if (Member(obj, name) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.String) throw Bad(path, $"{field} must be a string; it is {Describe(value)}");
        return value.GetString();
    }

    /// <summary>A boolean member, or null when absent or null; another kind throws.</summary>
    public static bool? Bool(JsonElement obj, string name, string field, string path)
    {
        if (Member(obj, name) is not { } value) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(path, $"{field} must be true or false; it is {Describe(value)}"),
        };
    }

    /// <summary>A non-negative 32-bit integer; another kind or value throws.</summary>
    public static int Id(JsonElement value, string field, string path)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int id) || id < 0)
            throw Bad(path, $"{field} must be a non-negative integer; it is {Describe(value)}");
        return id;
    }

    /// <summary>
    /// A token given as a string or as an AddedToken object <c>{"content": ...}</c> (as transformers writes
    /// <c>bos_token</c>); null when absent or null.
    /// </summary>
    public static string? TokenContent(JsonElement obj, string name, string path)
    {
        if (Member(obj, name) is not { } value) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Object && Member(value, "content") is { ValueKind: JsonValueKind.String } content)
            return content.GetString();
        throw Bad(path, $"{name} must be a string or an object with a string \"content\"; it is {Describe(value)}");
    }

    /// <summary>Says what a value is, for messages: its kind and, when short, the value itself.</summary>
    public static string Describe(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined) return "missing";
        string raw = value.GetRawText();
        return raw.Length <= 60 ? $"{Describe(value.ValueKind)} {raw}" : $"{Describe(value.ValueKind)} ({raw.Length} characters)";
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
