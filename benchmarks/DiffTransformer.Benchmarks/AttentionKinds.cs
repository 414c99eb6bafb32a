namespace DiffTransformer.Benchmarks;

/// <summary>The attention kinds the whole-model comparisons run, in declaration order: softmax (the baseline), V1, V2.</summary>
public static class AttentionKinds
{
    /// <summary>Every <see cref="AttentionKind"/>, softmax first; the reports print them in this order.</summary>
    public static readonly IReadOnlyList<AttentionKind> All = Enum.GetValues<AttentionKind>();
}
