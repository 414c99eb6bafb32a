using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// Writes a <see cref="HuggingFaceConfig"/> as the <c>config.json</c> transformers 4.57 <c>save_pretrained</c> writes
/// (every field of <c>LlamaConfig</c> / <c>DiffLlamaConfig</c>, <c>architectures</c>, <c>model_type</c>; sorted keys,
/// 2-space indent, Python float reprs), with these choices: the dtype goes under <c>torch_dtype</c> (read by every
/// transformers version; 4.56+ also reads it, with a deprecation note) and is omitted when unknown;
/// <c>transformers_version</c> is not written (this is not transformers); rotary settings use the 4.x keys
/// <c>rope_theta</c> and <c>rope_scaling</c> (which 5.x still reads); <c>pad_token_id</c> is omitted when null, while
/// a null <c>bos_token_id</c>/<c>eos_token_id</c> is written as null (absence would mean transformers' defaults 1 and 2).
/// <see cref="HuggingFaceConfigReader"/> reads the result back to an equal record.
/// </summary>
internal static class HuggingFaceConfigWriter
{
    /// <summary>The UTF-8 bytes of <paramref name="config"/>'s <c>config.json</c>.</summary>
    public static byte[] Serialize(HuggingFaceConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool llama = config.ModelType == HuggingFaceModelType.Llama;
        if (!llama && config.MlpBias)
            throw new ArgumentException("config.MlpBias must be false for DiffLlama, whose MLP has no bias; got true.", nameof(config));
        // Every value as an action, so that the keys can be written in sorted order.
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal)
        {
            ["architectures"] = w =>
            {
                w.WriteStartArray();
                w.WriteStringValue(HuggingFaceConfig.ArchitectureOf(config.ModelType));
                w.WriteEndArray();
            },
            ["attention_bias"] = w => w.WriteBooleanValue(config.AttentionBias),
            ["attention_dropout"] = w => Float(w, config.AttentionDropout),
            ["bos_token_id"] = w => NullableInt(w, config.BosTokenId),
            ["eos_token_id"] = w => Eos(w, config),
            ["head_dim"] = w => w.WriteNumberValue(config.HeadDim),
            ["hidden_act"] = w => w.WriteStringValue(config.HiddenAct),
            ["hidden_size"] = w => w.WriteNumberValue(config.HiddenSize),
            ["initializer_range"] = w => Float(w, config.InitializerRange),
            ["intermediate_size"] = w => w.WriteNumberValue(config.IntermediateSize),
            ["max_position_embeddings"] = w => w.WriteNumberValue(config.MaxPositionEmbeddings),
            ["model_type"] = w => w.WriteStringValue(HuggingFaceConfig.ModelTypeName(config.ModelType)),
            ["num_attention_heads"] = w => w.WriteNumberValue(config.NumAttentionHeads),
            ["num_hidden_layers"] = w => w.WriteNumberValue(config.NumHiddenLayers),
            ["num_key_value_heads"] = w => w.WriteNumberValue(config.NumKeyValueHeads),
            ["rms_norm_eps"] = w => Float(w, config.RmsNormEps),
            ["rope_scaling"] = w => RopeScaling(w, config.RopeScaling),
            ["rope_theta"] = w => Float(w, config.RopeTheta),
            ["tie_word_embeddings"] = w => w.WriteBooleanValue(config.TieWordEmbeddings),
            ["use_cache"] = w => w.WriteBooleanValue(config.UseCache),
            ["vocab_size"] = w => w.WriteNumberValue(config.VocabSize),
        };
        if (llama)
        {
            fields["mlp_bias"] = w => w.WriteBooleanValue(config.MlpBias);
            fields["pretraining_tp"] = w => w.WriteNumberValue(config.PretrainingTp ?? 1);
        }
        else
        {
            fields["lambda_std_dev"] = w => Float(w, config.LambdaStdDev ?? 0.1);
        }
        if (config.PadTokenId is { } pad) fields["pad_token_id"] = w => w.WriteNumberValue(pad);
        if (config.DType is { } dtype) fields["torch_dtype"] = w => w.WriteStringValue(HuggingFaceConfigReader.DTypeName(dtype));

        return PythonJson.Document(w =>
        {
            w.WriteStartObject();
            foreach (var (key, write) in fields)
            {
                w.WritePropertyName(key);
                write(w);
            }
            w.WriteEndObject();
        });
    }

    private static void Float(Utf8JsonWriter w, double value) => w.WriteRawValue(PythonJson.FloatRepr(value));

    private static void NullableInt(Utf8JsonWriter w, int? value)
    {
        if (value is { } v) w.WriteNumberValue(v);
        else w.WriteNullValue();
    }

    private static void Eos(Utf8JsonWriter w, HuggingFaceConfig config) => WriteEos(w, config.EosTokenIds, config.EosTokenIdIsList);

    /// <summary>Writes an <c>eos_token_id</c>: null when empty, a number when one id and not a list, else a list.</summary>
    internal static void WriteEos(Utf8JsonWriter w, IReadOnlyList<int> ids, bool asList)
    {
        if (ids.Count == 0) w.WriteNullValue();
        else if (ids.Count == 1 && !asList) w.WriteNumberValue(ids[0]);
        else
        {
            w.WriteStartArray();
            foreach (int id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
        }
    }

    private static void RopeScaling(Utf8JsonWriter w, RopeScaling? scaling)
    {
        if (scaling is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        PythonJson.WriteFloat(w, "factor", scaling.Factor);
        if (scaling.Kind == RopeScalingKind.Llama3)
        {
            PythonJson.WriteFloat(w, "high_freq_factor", scaling.HighFreqFactor);
            PythonJson.WriteFloat(w, "low_freq_factor", scaling.LowFreqFactor);
            w.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings);
        }
        w.WriteString("rope_type", scaling.Kind == RopeScalingKind.Llama3 ? "llama3" : "linear");
        w.WriteEndObject();
    }
}
