namespace DiffTransformer;

/// <summary>
/// The names that the attention shape rules give their arguments in messages: a module's constructor parameters, or
/// the <see cref="DiffTransformerConfig"/> properties they come from. One rule, two vocabularies.
/// </summary>
internal sealed record AttentionArgumentNames(string EmbedDim, string NumHeads, string NumKvHeads, string HeadDim, string Kernel, string RopeTheta, string RopeScaling)
{
    /// <summary>The constructor parameters of the attention modules.</summary>
    public static AttentionArgumentNames Constructor { get; } = new("embedDim", "numHeads", "numKvHeads", "headDim", "kernel", "ropeTheta", "ropeScaling");

    /// <summary>The properties of <see cref="DiffTransformerConfig"/>.</summary>
    public static AttentionArgumentNames Config { get; } = new(
        nameof(DiffTransformerConfig.EmbedDim), nameof(DiffTransformerConfig.NumHeads), nameof(DiffTransformerConfig.NumKvHeads),
        nameof(DiffTransformerConfig.HeadDim), nameof(DiffTransformerConfig.Kernel), nameof(DiffTransformerConfig.RopeTheta),
        nameof(DiffTransformerConfig.RopeScaling));
}
