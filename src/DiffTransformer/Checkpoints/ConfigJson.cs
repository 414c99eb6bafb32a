using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// The <c>config.json</c> of a checkpoint: a <see cref="DiffTransformerConfig"/> under snake_case keys, plus
/// <c>model_type</c>, <c>format_version</c> and optional string <c>metadata</c>. Reading is strict: unknown, missing or
/// wrongly typed keys are errors, and the values must pass <see cref="DiffTransformerConfig.Validate"/>.
/// </summary>
internal static class ConfigJson
{
    public const string ModelType = "difftransformer";
    public const int FormatVersion = 1;

    private static readonly string[] Keys =
    {
        "model_type", "format_version", "attention", "vocab_size", "embed_dim", "num_layers", "num_heads", "num_kv_heads",
        "head_dim", "ffn_hidden_dim", "max_sequence_length", "rope_theta", "norm_eps", "tie_embeddings", "kernel", "metadata",
    };

    private static readonly Dictionary<AttentionKind, string> AttentionNames = new()
    {
        [AttentionKind.Softmax] = "softmax", [AttentionKind.Differential] = "differential",
        [AttentionKind.DifferentialV2] = "differential_v2",
    };

    private static readonly Dictionary<AttentionKernel, string> KernelNames = new()
    {
        [AttentionKernel.Auto] = "auto", [AttentionKernel.Naive] = "naive", [AttentionKernel.Fused] = "fused",
    };

    public static byte[] Serialize(DiffTransformerConfig config, IReadOnlyDictionary<string, string>? metadata)
    {
        config.Validate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model_type", ModelType);
            w.WriteNumber("format_version", FormatVersion);
            w.WriteString("attention", AttentionNames[config.Attention]);
            w.WriteNumber("vocab_size", config.VocabSize);
            w.WriteNumber("embed_dim", config.EmbedDim);
            w.WriteNumber("num_layers", config.NumLayers);
            w.WriteNumber("num_heads", config.NumHeads);
            WriteOptional(w, "num_kv_heads", config.NumKvHeads);
            WriteOptional(w, "head_dim", config.HeadDim);
            WriteOptional(w, "ffn_hidden_dim", config.FfnHiddenDim);
            w.WriteNumber("max_sequence_length", config.MaxSequenceLength);
            w.WriteNumber("rope_theta", config.RopeTheta);
            w.WriteNumber("norm_eps", config.NormEps);
            w.WriteBoolean("tie_embeddings", config.TieEmbeddings);
            w.WriteString("kernel", KernelNames[config.Kernel]);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in (metadata ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
                w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static (DiffTransformerConfig Config, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        using (var document = StrictJson.Parse(File.ReadAllBytes(path), why => Bad(path, "it is " + why)))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "it is not a JSON object");
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            var unknown = names.Where(n => !Keys.Contains(n)).ToList();
            var missing = Keys.Where(k => !names.Contains(k)).ToList();
            if (unknown.Count > 0 || missing.Count > 0 || names.Count != names.Distinct().Count())
                throw Bad(path, $"unknown keys [{string.Join(", ", unknown)}], missing keys [{string.Join(", ", missing)}] (each key once)");
            if (String(root, "model_type", path) != ModelType) throw Bad(path, $"model_type must be '{ModelType}'");
            int version = Int(root, "format_version", path);
            if (version != FormatVersion) throw Bad(path, $"format_version {version} is not supported (this library reads {FormatVersion})");

            var config = new DiffTransformerConfig
            {
                Attention = Enum(root, "attention", AttentionNames, path),
                VocabSize = Int(root, "vocab_size", path),
                EmbedDim = Int(root, "embed_dim", path),
                NumLayers = Int(root, "num_layers", path),
                NumHeads = Int(root, "num_heads", path),
                NumKvHeads = OptionalInt(root, "num_kv_heads", path),
                HeadDim = OptionalInt(root, "head_dim", path),
                FfnHiddenDim = OptionalInt(root, "ffn_hidden_dim", path),
                MaxSequenceLength = Int(root, "max_sequence_length", path),
                RopeTheta = Double(root, "rope_theta", path),
                NormEps = Double(root, "norm_eps", path),
                TieEmbeddings = Bool(root, "tie_embeddings", path),
                Kernel = Enum(root, "kernel", KernelNames, path),
            };
            try
            {
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw Bad(path, $"it describes an invalid model ({e.Message})");
            }
            var metadata = root.GetProperty("metadata");
            if (metadata.ValueKind != JsonValueKind.Object) throw Bad(path, "metadata must be an object of strings");
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in metadata.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"metadata '{item.Name}' must be a string");
                values[item.Name] = item.Value.GetString()!;
            }
            return (config, values);
        }
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static int Int(JsonElement root, string name, string path)
    {
        var e = root.GetProperty(name);
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int value)) throw Bad(path, $"'{name}' must be an integer");
        return value;
    }

    private static int? OptionalInt(JsonElement root, string name, string path) =>
        root.GetProperty(name).ValueKind == JsonValueKind.Null ? null : Int(root, name, path);

    private static double Double(JsonElement root, string name, string path)
    {
        var e = root.GetProperty(name);
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value)) throw Bad(path, $"'{name}' must be a number");
        return value;
    }

    private static bool Bool(JsonElement root, string name, string path)
    {
        var e = root.GetProperty(name);
        if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Bad(path, $"'{name}' must be true or false");
        return e.GetBoolean();
    }

    private static string String(JsonElement root, string name, string path)
    {
        var e = root.GetProperty(name);
        if (e.ValueKind != JsonValueKind.String) throw Bad(path, $"'{name}' must be a string");
        return e.GetString()!;
    }

    private static T Enum<T>(JsonElement root, string name, Dictionary<T, string> names, string path) where T : struct, Enum
    {
        string value = String(root, name, path);
        foreach (var (key, text) in names)
            if (text == value) return key;
        throw Bad(path, $"'{name}' must be one of {string.Join(", ", names.Values)}; got '{value}'");
    }

    internal static InvalidDataException Bad(string path, string why) => new($"'{path}' is not a valid checkpoint config: {why}.");
}
