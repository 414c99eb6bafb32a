namespace DiffTransformer.Samples;

/// <summary>The model configurations the samples share.</summary>
internal static class SampleModels
{
    /// <summary>
    /// Differential attention V1 with <paramref name="heads"/> heads (half the heads of its parameter-matched softmax
    /// baseline, <see cref="DiffTransformerConfig.ToSoftmaxBaseline"/>), everything else at the library's defaults.
    /// </summary>
    public static DiffTransformerConfig V1(int vocabSize, int embedDim, int layers, int heads, int maxSequenceLength) => new()
    {
        Attention = AttentionKind.Differential,
        VocabSize = vocabSize,
        EmbedDim = embedDim,
        NumLayers = layers,
        NumHeads = heads,
        MaxSequenceLength = maxSequenceLength,
    };
}
