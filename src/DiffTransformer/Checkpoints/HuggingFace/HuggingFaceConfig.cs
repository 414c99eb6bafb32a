using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> (<c>LlamaConfig</c> / <c>DiffLlamaConfig</c>) that change the
/// computation, plus the token ids and the few initialisation fields a save writes back. Read by
/// <see cref="HuggingFaceConfigReader"/> (which applies transformers' defaults for absent keys and refuses what the
/// library cannot compute), written by <see cref="HuggingFaceConfigWriter"/>; a written config reads back equal.
/// Weight shapes it implies (<c>[out, in]</c>): q <c>[NumAttentionHeads*HeadDim, HiddenSize]</c>, k and v
/// <c>[NumKeyValueHeads*HeadDim, HiddenSize]</c>, o <c>[HiddenSize, NumAttentionHeads*HeadDim]</c>, gate and up
/// <c>[IntermediateSize, HiddenSize]</c>, down <c>[HiddenSize, IntermediateSize]</c>, embeddings and lm_head
/// <c>[VocabSize, HiddenSize]</c>, DiffLlama's lambdas <c>[HeadDim]</c>.
/// </summary>
internal sealed record HuggingFaceConfig
{
    /// <summary><c>model_type</c>.</summary>
    public required HuggingFaceModelType ModelType { get; init; }

    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c> (MLP width).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c> (query heads; even for DiffLlama, whose heads pair <c>i</c> with <c>i + H/2</c>).</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c> (divides the query heads; defaults to them).</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c> (even; defaults to <c>hidden_size / num_attention_heads</c> when absent or null).</summary>
    public required int HeadDim { get; init; }

    /// <summary><c>rms_norm_eps</c> (every RMSNorm, and DiffLlama's per-head norm).</summary>
    public required double RmsNormEps { get; init; }

    /// <summary><c>rope_theta</c> (or <c>rope_parameters.rope_theta</c>).</summary>
    public required double RopeTheta { get; init; }

    /// <summary>The rotary scaling; null for the default rotary embedding.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary><c>attention_bias</c>: biases on q, k, v and o.</summary>
    public bool AttentionBias { get; init; }

    /// <summary><c>mlp_bias</c>: biases on gate, up and down (Llama only; always false for DiffLlama).</summary>
    public bool MlpBias { get; init; }

    /// <summary><c>tie_word_embeddings</c>: lm_head is the embedding matrix and <c>lm_head.weight</c> is not stored.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>hidden_act</c>; only <c>silu</c> is accepted.</summary>
    public string HiddenAct { get; init; } = "silu";

    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>max_position_embeddings</c>.</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary><c>bos_token_id</c> (null when stored as null).</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c>: one id, a list, or none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>True when <c>eos_token_id</c> was (and is written as) a JSON list rather than one number.</summary>
    public bool EosTokenIdIsList { get; init; }

    /// <summary><c>pad_token_id</c> (null when absent or null; then not written, as transformers does).</summary>
    public int? PadTokenId { get; init; }

    /// <summary><c>torch_dtype</c> / <c>dtype</c>: float32, float16, bfloat16 or float64; null when absent.</summary>
    public ScalarType? DType { get; init; }

    /// <summary>DiffLlama's <c>lambda_std_dev</c> (initialisation only; null for Llama).</summary>
    public double? LambdaStdDev { get; init; }

    /// <summary><c>attention_dropout</c>: training only; evaluation math ignores it.</summary>
    public double AttentionDropout { get; init; }

    /// <summary>Llama's <c>pretraining_tp</c>: transformers only splits matmuls by it (same math); null for DiffLlama.</summary>
    public int? PretrainingTp { get; init; }

    /// <summary><c>initializer_range</c> (initialisation only).</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary><c>use_cache</c> (generation default only).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>The architecture name transformers writes for <paramref name="type"/>.</summary>
    public static string ArchitectureOf(HuggingFaceModelType type) =>
        type == HuggingFaceModelType.Llama ? "LlamaForCausalLM" : "DiffLlamaForCausalLM";

    /// <summary>The <c>model_type</c> string of <paramref name="type"/>.</summary>
    public static string ModelTypeName(HuggingFaceModelType type) => type == HuggingFaceModelType.Llama ? "llama" : "diffllama";

    /// <inheritdoc />
    public bool Equals(HuggingFaceConfig? other) =>
        other is not null
        && EqualityContract == other.EqualityContract
        && ScalarFieldsEqual(other)
        && EosTokenIds.SequenceEqual(other.EosTokenIds);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ModelType, HiddenSize, NumHiddenLayers, VocabSize, RopeTheta, EosTokenIds.Count);

    private bool ScalarFieldsEqual(HuggingFaceConfig o) =>
        ModelType == o.ModelType && HiddenSize == o.HiddenSize && IntermediateSize == o.IntermediateSize
        && NumHiddenLayers == o.NumHiddenLayers && NumAttentionHeads == o.NumAttentionHeads
        && NumKeyValueHeads == o.NumKeyValueHeads && HeadDim == o.HeadDim && RmsNormEps.Equals(o.RmsNormEps)
        && RopeTheta.Equals(o.RopeTheta) && Equals(RopeScaling, o.RopeScaling) && AttentionBias == o.AttentionBias
        && MlpBias == o.MlpBias && TieWordEmbeddings == o.TieWordEmbeddings && HiddenAct == o.HiddenAct
        && VocabSize == o.VocabSize && MaxPositionEmbeddings == o.MaxPositionEmbeddings && BosTokenId == o.BosTokenId
        && EosTokenIdIsList == o.EosTokenIdIsList && PadTokenId == o.PadTokenId && DType == o.DType
        && Nullable.Equals(LambdaStdDev, o.LambdaStdDev) && AttentionDropout.Equals(o.AttentionDropout)
        && PretrainingTp == o.PretrainingTp && InitializerRange.Equals(o.InitializerRange) && UseCache == o.UseCache;
}
