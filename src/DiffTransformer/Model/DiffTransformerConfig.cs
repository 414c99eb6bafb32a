namespace DiffTransformer;

/// <summary>
/// Shape of a <see cref="DiffTransformerLM"/>. Head counts follow the official modules: for
/// <see cref="AttentionKind.Differential"/>, <see cref="NumHeads"/> is half the heads of the parameter-matched softmax
/// baseline (see <see cref="ToSoftmaxBaseline"/>); for <see cref="AttentionKind.DifferentialV2"/> it is the number of
/// output heads (the module has twice as many query heads).
/// </summary>
public sealed record DiffTransformerConfig
{
    /// <summary>Attention used by every block.</summary>
    public AttentionKind Attention { get; init; } = AttentionKind.Differential;

    /// <summary>Vocabulary size; token ids must lie in <c>[0, VocabSize)</c>.</summary>
    public int VocabSize { get; init; } = 256;

    /// <summary>Model width.</summary>
    public int EmbedDim { get; init; } = 256;

    /// <summary>Number of blocks; block <c>i</c> gets <c>depth = i</c>.</summary>
    public int NumLayers { get; init; } = 4;

    /// <summary>Attention heads, counted as the attention kind's constructor counts them.</summary>
    public int NumHeads { get; init; } = 4;

    /// <summary>Key/value heads; null means <see cref="NumHeads"/>.</summary>
    public int? NumKvHeads { get; init; }

    /// <summary>
    /// Size of each rotary-embedded query/key head (V1: of each of the two sub-heads of a differential head); null means
    /// <c>EmbedDim / NumHeads</c> (softmax, V2) or <c>EmbedDim / NumHeads / 2</c> (V1). Set it when the attention is
    /// narrower or wider than the model (e.g. Llama's explicit <c>head_dim</c>).
    /// </summary>
    public int? HeadDim { get; init; }

    /// <summary>SwiGLU hidden width; null means <c>8/3 * EmbedDim</c> rounded up to a multiple of 32.</summary>
    public int? FfnHiddenDim { get; init; }

    /// <summary>Longest sequence (prompt plus generated tokens) the model accepts.</summary>
    public int MaxSequenceLength { get; init; } = 2048;

    /// <summary>Rotary base.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Epsilon of the block and final RMSNorms.</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>When true the output head reuses the token embedding matrix.</summary>
    public bool TieEmbeddings { get; init; }

    /// <summary>Attention kernel of every layer.</summary>
    public AttentionKernel Kernel { get; init; } = AttentionKernel.Auto;

    /// <summary>Scaling of the rotary frequencies (Hugging Face <c>rope_scaling</c>); null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Biases on the attention projections (Llama's <c>attention_bias</c>). Default false, as the official modules.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Biases on the feed-forward projections (Llama's <c>mlp_bias</c>). Default false.</summary>
    public bool FfnBias { get; init; }

    /// <summary>V1: epsilon of the per-head RMSNorm (<c>subln</c>); 1e-5 as the official code. DiffLlama uses its <c>rms_norm_eps</c>.</summary>
    public double HeadNormEps { get; init; } = 1e-5;

    /// <summary>The SwiGLU hidden width actually used.</summary>
    public int ResolvedFfnHiddenDim => FfnHiddenDim ?? (8 * EmbedDim / 3 + 31) / 32 * 32;

    /// <summary>The query/key head size actually used (see <see cref="HeadDim"/>).</summary>
    public int ResolvedHeadDim => HeadDim ?? (Attention == AttentionKind.Differential ? EmbedDim / NumHeads / 2 : EmbedDim / NumHeads);

    /// <summary>
    /// The softmax model this configuration is compared with. For V1: twice the heads and KV heads, which matches the
    /// parameter count (the paper's pairing). For V2: the same heads, KV heads and head size, as the official V2 code
    /// compares (V2 adds the second query heads and <c>lambda_proj</c>). For softmax: this configuration.
    /// </summary>
    public DiffTransformerConfig ToSoftmaxBaseline()
    {
        Validate();
        return Attention switch
        {
            AttentionKind.Differential => this with
            {
                Attention = AttentionKind.Softmax, NumHeads = 2 * NumHeads, NumKvHeads = NumKvHeads * 2,
            },
            AttentionKind.DifferentialV2 when ResolvedHeadDim * NumHeads != EmbedDim => throw new InvalidOperationException(
                $"A softmax baseline needs head size EmbedDim / NumHeads = {EmbedDim / NumHeads}; this V2 configuration has HeadDim {ResolvedHeadDim}."),
            AttentionKind.DifferentialV2 => this with { Attention = AttentionKind.Softmax, HeadDim = null },
            _ => this,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property that breaks its rule.</summary>
    public void Validate()
    {
        Guard.Defined(Attention, nameof(Attention));
        Guard.Positive(VocabSize, nameof(VocabSize));
        Guard.Positive(NumLayers, nameof(NumLayers));
        Guard.Positive(MaxSequenceLength, nameof(MaxSequenceLength));
        Guard.PositiveFinite(NormEps, nameof(NormEps));
        Guard.PositiveFinite(HeadNormEps, nameof(HeadNormEps));
        if (FfnHiddenDim is { } ffn) Guard.Positive(ffn, nameof(FfnHiddenDim));
        // The same head arithmetic the attention constructors check, so a bad config fails before any weights exist.
        CheckAttentionShape();
    }

    /// <summary>Builds the attention module of block <paramref name="depth"/>.</summary>
    public CausalSelfAttention CreateAttention(int depth) => Attention switch
    {
        AttentionKind.Softmax => new SoftmaxAttention(EmbedDim, NumHeads, NumKvHeads, Kernel, RopeTheta, HeadDim, AttentionBias, RopeScaling),
        AttentionKind.Differential => new DiffAttention(EmbedDim, depth, NumHeads, NumKvHeads, Kernel, RopeTheta, HeadDim, AttentionBias,
            HeadNormEps, RopeScaling),
        AttentionKind.DifferentialV2 => new DiffAttentionV2(EmbedDim, NumHeads, NumKvHeads, ResolvedHeadDim, Kernel, RopeTheta,
            AttentionBias, RopeScaling),
        _ => throw new ArgumentOutOfRangeException(nameof(Attention), Attention, "Unknown attention kind."),
    };

    /// <summary>The attention modules' own shape rule, named after these properties.</summary>
    private void CheckAttentionShape()
    {
        int subHeads = Attention == AttentionKind.Differential ? DiffAttention.SubHeads : 1;
        CausalSelfAttention.CheckShape(EmbedDim, NumHeads, NumKvHeads, HeadDim, subHeads, Kernel, RopeTheta, RopeScaling,
            AttentionArgumentNames.Config);
    }
}
