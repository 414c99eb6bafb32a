using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// How <see cref="AttentionKernel.Auto"/> picks a kernel for one call. The naive kernel is taken when the call records
/// gradients (training), has no cache to continue, is at most <see cref="MaxNaiveTrainingLength"/> positions long, and
/// its maps fit <see cref="NaiveMemoryBudgetBytes"/> (<see cref="NaiveMapBytes"/>); every other call takes the fused
/// kernel. Why: on LibTorch's CPU kernels, the explicit maps' two matrix products and softmax beat SDPA's blocked loop
/// for short training sequences (its backward recomputes the scores block by block), and lose from a few hundred
/// positions on, where SDPA also saves the quadratic memory; for inference SDPA was as fast or faster at every length
/// measured. The thresholds of <see cref="For"/> come from the report's layer section (docs/benchmarks.md, "How Auto
/// chooses"). Immutable: set a changed copy on <see cref="CausalSelfAttention.AutoRule"/>.
/// </summary>
public sealed record AutoKernelRule
{
    /// <summary>Longest training call (queries = keys = this many positions) that takes the naive kernel; 0: never.</summary>
    public long MaxNaiveTrainingLength { get; init; }

    /// <summary>
    /// Most bytes the naive kernel's maps may take in one call (<see cref="NaiveMapBytes"/>); a call above it takes the
    /// fused kernel. Default 256 MiB.
    /// </summary>
    public long NaiveMemoryBudgetBytes { get; init; } = 256L << 20;

    /// <summary>The measured rule for <paramref name="kind"/>.</summary>
    public static AutoKernelRule For(AttentionKind kind) => kind switch
    {
        AttentionKind.Differential => DifferentialDefault,
        AttentionKind.DifferentialV2 => DifferentialV2Default,
        _ => SoftmaxDefault,
    };

    // From the layer section (2 cores, float32, batch 1, embed 512; docs/benchmarks.md): V1's fused path pays for its
    // zero halves, so its naive kernel wins training calls up to 512 positions and loses from 1024 on; softmax and V2 run
    // SDPA on their own head sizes, and their fused kernel was as fast or faster at every measured length.
    static readonly AutoKernelRule SoftmaxDefault = new() { MaxNaiveTrainingLength = 0 };
    static readonly AutoKernelRule DifferentialDefault = new() { MaxNaiveTrainingLength = 512 };
    static readonly AutoKernelRule DifferentialV2Default = new() { MaxNaiveTrainingLength = 0 };

    /// <summary>
    /// Bytes of the score-sized tensors the naive kernel holds at its peak in a call: <paramref name="mapsPerHead"/> maps
    /// of <c>[queries, keys]</c> per head and batch row, of 4 bytes an element (8 for float64); half precision counts
    /// one map more, for its float32 copies (scores and masked scores in half, softmax in float32, cast back: 14 bytes an
    /// element for 3 maps).
    /// </summary>
    public static long NaiveMapBytes(long batch, long heads, long queries, long keys, int mapsPerHead, ScalarType dtype)
    {
        long elementBytes = Math.Max(4, DTypes.ElementSize(dtype));
        long maps = mapsPerHead + (DTypes.IsHalf(dtype) ? 1 : 0);
        double bytes = (double)batch * heads * queries * keys * maps * elementBytes;
        return bytes >= long.MaxValue ? long.MaxValue : (long)bytes;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> unless both sizes are non-negative.</summary>
    internal void Validate(string name)
    {
        if (MaxNaiveTrainingLength < 0)
            throw new ArgumentException($"{name}.{nameof(MaxNaiveTrainingLength)} must be >= 0; got {MaxNaiveTrainingLength}.", name);
        if (NaiveMemoryBudgetBytes < 0)
            throw new ArgumentException($"{name}.{nameof(NaiveMemoryBudgetBytes)} must be >= 0; got {NaiveMemoryBudgetBytes}.", name);
    }

    /// <summary>
    /// The naive kernel for a call of <paramref name="queries"/> new positions after <paramref name="cached"/> ones whose
    /// maps take <paramref name="mapBytes"/>, with or without gradients recorded; otherwise fused.
    /// </summary>
    internal bool TakesNaive(long queries, long cached, long mapBytes, bool recordsGradients) =>
        recordsGradients && cached == 0 && queries <= MaxNaiveTrainingLength && mapBytes <= NaiveMemoryBudgetBytes;
}
