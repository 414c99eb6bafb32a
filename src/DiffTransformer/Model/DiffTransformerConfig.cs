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

    /// <summary>V2 head size; null means <c>EmbedDim / NumHeads</c>. Ignored by the other kinds.</summary>
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

    /// <summary>The SwiGLU hidden width actually used.</summary>
    public int ResolvedFfnHiddenDim => FfnHiddenDim ?? (8 * EmbedDim / 3 + 31) / 32 * 32;

    /// <summary>The V2 head size actually used.</summary>
    public int ResolvedHeadDim => HeadDim ?? EmbedDim / NumHeads;

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
                Attention = AttentionKind.Softmax, NumHeads = 2 * NumHeads, NumKvHeads = NumKvHeads * 2, HeadDim = null,
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
        if (FfnHiddenDim is { } ffn) Guard.Positive(ffn, nameof(FfnHiddenDim));
        // The same head arithmetic the attention constructors check, so a bad config fails before any weights exist.
        CheckAttentionShape();
    }

    /// <summary>Builds the attention module of block <paramref name="depth"/>.</summary>
    public CausalSelfAttention CreateAttention(int depth) => Attention switch
    {
        AttentionKind.Softmax => new SoftmaxAttention(EmbedDim, NumHeads, NumKvHeads, Kernel, RopeTheta),
        AttentionKind.Differential => new DiffAttention(EmbedDim, depth, NumHeads, NumKvHeads, Kernel, RopeTheta),
        AttentionKind.DifferentialV2 => new DiffAttentionV2(EmbedDim, NumHeads, NumKvHeads, ResolvedHeadDim, Kernel, RopeTheta),
        _ => throw new ArgumentOutOfRangeException(nameof(Attention), Attention, "Unknown attention kind."),
    };

    /// <summary>The attention modules' own shape rules, named after these properties.</summary>
    private void CheckAttentionShape()
    {
        var names = AttentionArgumentNames.Config;
        switch (Attention)
        {
            case AttentionKind.Softmax:
                SoftmaxAttention.CheckShape(EmbedDim, NumHeads, NumKvHeads, Kernel, RopeTheta, names);
                break;
            case AttentionKind.Differential:
                DiffAttention.CheckShape(EmbedDim, NumHeads, NumKvHeads, Kernel, RopeTheta, names);
                break;
            case AttentionKind.DifferentialV2:
                DiffAttentionV2.CheckShape(EmbedDim, NumHeads, NumKvHeads, HeadDim, Kernel, RopeTheta, names);
                break;
        }
    }
}
