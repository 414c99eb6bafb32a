namespace DiffTransformer;

/// <summary>
/// A <c>rope_scaling</c> (4.x) or the scaling part of <c>rope_parameters</c> (5.x). A config without scaling, or with
/// <c>rope_type: "default"</c>, has none (<see cref="HuggingFaceConfig.RopeScaling"/> is null), so this is never
/// <see cref="HuggingFaceRopeType.Default"/>.
/// </summary>
/// <param name="Type"><see cref="HuggingFaceRopeType.Linear"/> or <see cref="HuggingFaceRopeType.Llama3"/>.</param>
/// <param name="Factor"><c>factor</c> (&gt; 0).</param>
/// <param name="LowFreqFactor"><c>low_freq_factor</c> (llama3 only, else null).</param>
/// <param name="HighFreqFactor"><c>high_freq_factor</c> (llama3 only, &gt; low_freq_factor, else null).</param>
/// <param name="OriginalMaxPositionEmbeddings"><c>original_max_position_embeddings</c> (llama3 only, else null).</param>
internal sealed record HuggingFaceRopeScaling(
    HuggingFaceRopeType Type, double Factor, double? LowFreqFactor = null, double? HighFreqFactor = null,
    int? OriginalMaxPositionEmbeddings = null)
{
    /// <summary>A linear scaling by <paramref name="factor"/>.</summary>
    public static HuggingFaceRopeScaling Linear(double factor) => new(HuggingFaceRopeType.Linear, factor);

    /// <summary>A llama3 scaling.</summary>
    public static HuggingFaceRopeScaling Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) =>
        new(HuggingFaceRopeType.Llama3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
}
