using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace DiffTransformer;

/// <summary>
/// The <c>config.json</c> of a checkpoint: <c>model_type</c>, <c>format_version</c>, the properties of a
/// <see cref="DiffTransformerConfig"/> under snake_case keys (enums as snake_case names), then string <c>metadata</c>.
/// Reading is strict, as for the trainer state: unknown, repeated, missing or wrongly typed keys are errors, and the
/// values must pass <see cref="DiffTransformerConfig.Validate"/>. The keys are the config's properties, so a new
/// property needs no edit here; one that format 1 lacks is optional (a file without it gets the default).
/// </summary>
internal static class ConfigJson
{
    public const string ModelType = "difftransformer";
    public const int FormatVersion = 1;

    /// <summary>The config keys every format 1 file has.</summary>
    private static readonly string[] FormatOneKeys =
    {
        "attention", "vocab_size", "embed_dim", "num_layers", "num_heads", "num_kv_heads", "head_dim", "ffn_hidden_dim",
        "max_sequence_length", "rope_theta", "norm_eps", "tie_embeddings", "kernel",
    };

    private static readonly string[] HeaderKeys = { "model_type", "format_version", "metadata" };

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new SnakeCaseEnums() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { ConfigContract } },
    };

    private static IList<JsonPropertyInfo> Keys => Json.GetTypeInfo(typeof(DiffTransformerConfig)).Properties;

    /// <summary>
    /// The config's stored properties (not the computed ones), required when format 1 has them, plus the header keys:
    /// <see cref="Read(byte[], string)"/> reads those on their own, and one strict deserialization of the file gives the config.
    /// </summary>
    private static void ConfigContract(JsonTypeInfo info)
    {
        if (info.Type != typeof(DiffTransformerConfig)) return;
        foreach (var computed in info.Properties.Where(p => p.Set is null).ToList()) info.Properties.Remove(computed);
        foreach (var property in info.Properties) property.IsRequired = FormatOneKeys.Contains(property.Name);
        foreach (string key in HeaderKeys)
        {
            var header = info.CreateJsonPropertyInfo(typeof(JsonElement), key);
            header.Set = static (_, _) => { }; // no getter: not written with the config
            header.IsRequired = true;
            info.Properties.Add(header);
        }
    }

    public static byte[] Serialize(DiffTransformerConfig config, IReadOnlyDictionary<string, string>? metadata)
    {
        config.Validate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model_type", ModelType);
            w.WriteNumber("format_version", FormatVersion);
            foreach (var property in JsonSerializer.SerializeToElement(config, Json).EnumerateObject()) property.WriteTo(w);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in (metadata ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
                w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static (DiffTransformerConfig Config, IReadOnlyDictionary<string, string> Metadata) Read(string path) =>
        Read(File.ReadAllBytes(path), path);

    /// <summary>Reads the config file contents <paramref name="utf8"/>, naming <paramref name="path"/> in errors.</summary>
    public static (DiffTransformerConfig Config, IReadOnlyDictionary<string, string> Metadata) Read(byte[] utf8, string path)
    {
        using var document = StrictJson.Parse(utf8, why => Bad(path, "it is " + why));
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "it is not a JSON object");
        var names = root.EnumerateObject().Select(p => p.Name).ToList();
        var unknown = names.Where(n => !Keys.Any(k => k.Name == n)).ToList();
        var missing = Keys.Where(k => k.IsRequired && !names.Contains(k.Name)).Select(k => k.Name).ToList();
        if (unknown.Count > 0 || missing.Count > 0 || names.Count != names.Distinct().Count())
            throw Bad(path, $"unknown keys [{string.Join(", ", unknown)}], missing keys [{string.Join(", ", missing)}] (each key once)");
        if (Value<string>(root, "model_type", path) != ModelType) throw Bad(path, $"model_type must be '{ModelType}'");
        int version = Value<int>(root, "format_version", path);
        if (version != FormatVersion) throw Bad(path, $"format_version {version} is not supported (this library reads {FormatVersion})");

        var config = Value<DiffTransformerConfig>(root, null, path);
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw Bad(path, $"it describes an invalid model ({e.Message})");
        }
        var metadata = Value<Dictionary<string, string>>(root, "metadata", path);
        if (metadata.ContainsValue(null!)) throw Mistyped(path, "metadata", typeof(Dictionary<string, string>), root);
        return (config, metadata);
    }

    /// <summary>The value of <paramref name="key"/> (null: the whole file as the config); a wrong type names the key, the rule and the value.</summary>
    private static T Value<T>(JsonElement root, string? key, string path)
    {
        try
        {
            return (key is null ? root : root.GetProperty(key)).Deserialize<T>(Json) ?? throw new JsonException();
        }
        catch (JsonException e)
        {
            // The key whose value failed: the one asked for, or the config key the error's path starts with ("$.embed_dim").
            key ??= e.Path?.Split('.', '[').ElementAtOrDefault(1);
            var type = typeof(T) != typeof(DiffTransformerConfig) ? typeof(T) : Keys.FirstOrDefault(k => k.Name == key)?.PropertyType;
            throw key is null || type is null ? Bad(path, e.Message) : Mistyped(path, key, type, root);
        }
    }

    private static InvalidDataException Mistyped(string path, string key, Type type, JsonElement root) =>
        Bad(path, $"'{key}' must be {Rule(type)}; got {root.GetProperty(key).GetRawText()}");

    private static string Rule(Type type) => Nullable.GetUnderlyingType(type) is { } inner ? Rule(inner) + " or null" : type switch
    {
        _ when type == typeof(int) => "an integer",
        _ when type == typeof(double) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(string) => "a string",
        _ when type == typeof(Dictionary<string, string>) => "an object of strings",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName)),
        _ => "a valid " + type.Name,
    };

    internal static InvalidDataException Bad(string path, string why) => new($"'{path}' is not a valid checkpoint config: {why}.");

    /// <summary>Every enum as its snake_case name, exactly (the built-in converter also takes other cases and lists of names).</summary>
    private sealed class SnakeCaseEnums : JsonConverterFactory
    {
        public override bool CanConvert(Type type) => type.IsEnum;

        public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(Names<>).MakeGenericType(type))!;

        private sealed class Names<T> : JsonConverter<T> where T : struct, Enum
        {
            private static readonly Dictionary<string, T> Values = Enum.GetValues<T>().ToDictionary(Name);

            private static string Name(T value) => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

            public override T Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
                reader.TokenType == JsonTokenType.String && Values.TryGetValue(reader.GetString()!, out var value) ? value : throw new JsonException();

            public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
        }
    }
}
