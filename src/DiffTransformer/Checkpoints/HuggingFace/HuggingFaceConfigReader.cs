using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Reads a Hugging Face <c>config.json</c> of <c>model_type</c> <c>llama</c> or <c>diffllama</c> into a
/// <see cref="HuggingFaceConfig"/>, with the defaults of transformers' <c>LlamaConfig</c> / <c>DiffLlamaConfig</c> for
/// absent keys. Rules:
/// <list type="bullet">
/// <item>Refused (<see cref="InvalidDataException"/> naming the file, the field and its value): another
/// <c>model_type</c>; <c>architectures</c> other than the type's causal-LM class; <c>hidden_act</c> other than
/// <c>silu</c>; a rotary type other than default/linear/llama3, a <c>partial_rotary_factor</c> other than 1, or
/// <c>rope_theta</c>/<c>rope_scaling</c> disagreeing with <c>rope_parameters</c> (<see cref="HuggingFaceRopeReader"/>);
/// a non-null <c>sliding_window</c> or <c>use_sliding_window: true</c>; <c>layer_types</c> other than
/// <c>full_attention</c>; a <c>quantization_config</c>; <c>mlp_bias: true</c> on DiffLlama (its MLP has no bias);
/// <c>torch_dtype</c> and <c>dtype</c> disagreeing, or a dtype other than float32/float16/bfloat16/float64;
/// sizes that are not positive, kv heads that do not divide the heads, an odd <c>head_dim</c>, an odd head count on
/// DiffLlama; a key given twice.</item>
/// <item>Read but not part of evaluation math: <c>attention_dropout</c> (training only), <c>pretraining_tp</c>
/// (transformers only splits the same matmuls by it), <c>initializer_range</c>, <c>lambda_std_dev</c>,
/// <c>use_cache</c>; kept so that a save writes them back.</item>
/// <item>Tolerated and ignored: every other key (<c>transformers_version</c>, <c>_name_or_path</c>,
/// <c>max_window_layers</c> ...), as transformers keeps unknown keys without using them.</item>
/// </list>
/// </summary>
internal static class HuggingFaceConfigReader
{
    /// <summary>The file name transformers uses.</summary>
    public const string FileName = "config.json";

    private static readonly Dictionary<string, ScalarType> DTypes = new(StringComparer.Ordinal)
    {
        ["float32"] = ScalarType.Float32, ["float16"] = ScalarType.Float16, ["bfloat16"] = ScalarType.BFloat16,
        ["float64"] = ScalarType.Float64,
    };

    /// <summary>Reads the config file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON or breaks a rule above.</exception>
    public static HuggingFaceConfig Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses <paramref name="utf8"/>, naming <paramref name="path"/> in errors.</summary>
    public static HuggingFaceConfig Parse(byte[] utf8, string path)
    {
        using var document = StrictJson.Parse(utf8, why => new InvalidDataException($"'{path}' is {why}."));
        var f = new HuggingFaceJsonFields(document.RootElement, path);
        var type = ReadModelType(f);
        bool llama = type == HuggingFaceModelType.Llama;
        CheckArchitectures(f, type);
        RefuseUnsupported(f, type);

        string act = f.String("hidden_act") ?? "silu";
        if (act != "silu") throw f.Bad("hidden_act", "is not supported (only \"silu\")");
        int hidden = f.PositiveInt("hidden_size", llama ? 4096 : 2048);
        int heads = f.PositiveInt("num_attention_heads", 32);
        int kvHeads = f.HasValue("num_key_value_heads") ? f.PositiveInt("num_key_value_heads", heads) : heads;
        if (heads % kvHeads != 0)
            throw f.Bad("num_key_value_heads", $"must divide 'num_attention_heads' = {heads}");
        if (!llama && heads % 2 != 0)
            throw f.Bad("num_attention_heads", "must be even for DiffLlama, whose heads pair i with i + H/2");
        int headDim = f.HasValue("head_dim") ? f.PositiveInt("head_dim", 1) : hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0)
            throw f.HasValue("head_dim")
                ? f.Bad("head_dim", "must be even (rotary embeddings rotate pairs of dimensions)")
                : f.Bad("hidden_size", $"/ 'num_attention_heads' = {heads} gives head_dim {headDim}, which must be positive and even");
        var (theta, scaling) = HuggingFaceRopeReader.Read(f);

        bool mlpBias = f.Bool("mlp_bias", false);
        if (!llama && mlpBias) throw f.Bad("mlp_bias", "is not supported for diffllama (its MLP has no bias)");
        double dropout = f.Double("attention_dropout", 0);
        if (!(dropout >= 0 && dropout < 1)) throw f.Bad("attention_dropout", "must lie in [0, 1)");
        var eos = f.Has("eos_token_id") ? f.IntOrList("eos_token_id") : (new[] { 2 }, false);

        return new HuggingFaceConfig
        {
            ModelType = type,
            HiddenSize = hidden,
            IntermediateSize = f.PositiveInt("intermediate_size", llama ? 11008 : 8192),
            NumHiddenLayers = f.PositiveInt("num_hidden_layers", llama ? 32 : 16),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = f.PositiveDouble("rms_norm_eps", llama ? 1e-6 : 1e-5),
            RopeTheta = theta,
            RopeScaling = scaling,
            AttentionBias = f.Bool("attention_bias", false),
            MlpBias = mlpBias,
            TieWordEmbeddings = f.Bool("tie_word_embeddings", false),
            HiddenAct = act,
            VocabSize = f.PositiveInt("vocab_size", 32000),
            MaxPositionEmbeddings = f.PositiveInt("max_position_embeddings", 2048),
            BosTokenId = f.Has("bos_token_id") ? f.NullableInt("bos_token_id") : 1,
            EosTokenIds = eos?.Ids ?? Array.Empty<int>(),
            EosTokenIdIsList = eos?.IsList ?? false,
            PadTokenId = f.NullableInt("pad_token_id"),
            DType = ReadDType(f),
            LambdaStdDev = llama ? null : f.Double("lambda_std_dev", 0.1),
            AttentionDropout = dropout,
            PretrainingTp = llama ? f.PositiveInt("pretraining_tp", 1) : null,
            InitializerRange = f.Double("initializer_range", 0.02),
            UseCache = f.Bool("use_cache", true),
        };
    }

    private static HuggingFaceModelType ReadModelType(HuggingFaceJsonFields f)
    {
        if (!f.HasValue("model_type")) throw f.Bad("model_type", "is missing; supported: \"llama\", \"diffllama\"");
        return f.String("model_type") switch
        {
            "llama" => HuggingFaceModelType.Llama,
            "diffllama" => HuggingFaceModelType.DiffLlama,
            _ => throw f.Bad("model_type", "is not supported (supported: \"llama\", \"diffllama\")"),
        };
    }

    private static void CheckArchitectures(HuggingFaceJsonFields f, HuggingFaceModelType type)
    {
        var architectures = f.StringList("architectures");
        string expected = HuggingFaceConfig.ArchitectureOf(type);
        if (architectures is not null && (architectures.Count != 1 || architectures[0] != expected))
            throw f.Bad("architectures", $"is not supported for model_type \"{HuggingFaceConfig.ModelTypeName(type)}\" (expected [\"{expected}\"])");
    }

    private static void RefuseUnsupported(HuggingFaceJsonFields f, HuggingFaceModelType type)
    {
        if (f.HasValue("sliding_window"))
            throw f.Bad("sliding_window", "is not supported (sliding-window attention); it must be absent or null");
        if (f.Bool("use_sliding_window", false))
            throw f.Bad("use_sliding_window", "is not supported (sliding-window attention); it must be false");
        if (f.HasValue("quantization_config"))
            throw f.Bad("quantization_config", "is not supported (quantized weights)");
        if (f.HasValue("partial_rotary_factor") && f.Double("partial_rotary_factor", 1) != 1)
            throw f.Bad("partial_rotary_factor", "is not supported: the rotary embedding must cover the whole head (1.0)");
        if (f.HasValue("layer_types"))
        {
            var layers = f.StringList("layer_types")!;
            if (layers.Any(l => l != "full_attention"))
                throw f.Bad("layer_types", $"is not supported for {HuggingFaceConfig.ModelTypeName(type)}: every layer must be \"full_attention\"");
        }
    }

    private static ScalarType? ReadDType(HuggingFaceJsonFields f)
    {
        string? torchDType = f.String("torch_dtype");
        string? dtype = f.String("dtype");
        if (torchDType is not null && dtype is not null && torchDType != dtype)
            throw f.Bad("dtype", $"disagrees with 'torch_dtype' = \"{torchDType}\"");
        string? name = dtype ?? torchDType;
        if (name is null) return null;
        if (!DTypes.TryGetValue(name, out var type))
            throw f.Bad(dtype is not null ? "dtype" : "torch_dtype", $"is not supported (supported: {string.Join(", ", DTypes.Keys)})");
        return type;
    }

    /// <summary>The config.json name of <paramref name="type"/> (float32, float16, bfloat16, float64).</summary>
    public static string DTypeName(ScalarType type) =>
        DTypes.FirstOrDefault(p => p.Value == type).Key
        ?? throw new ArgumentException($"dtype {type} has no config.json name (supported: {string.Join(", ", DTypes.Keys)}).", nameof(type));
}
