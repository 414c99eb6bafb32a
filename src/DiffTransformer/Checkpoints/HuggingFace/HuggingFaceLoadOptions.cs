using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>How <see cref="HuggingFaceCheckpoint.Load"/> builds the model.</summary>
public sealed record HuggingFaceLoadOptions
{
    /// <summary>
    /// The dtype of the loaded weights: float32 by default, as transformers loads without <c>torch_dtype</c>; bfloat16,
    /// float16 or float64 also work, whatever the stored dtype (widening is exact; narrowing rounds to nearest even).
    /// The model is built in this dtype, so a BF16 checkpoint loaded as bfloat16 never makes a float32 copy.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>The device of the loaded model; null for the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>The attention kernel of every layer.</summary>
    public AttentionKernel Kernel { get; init; } = AttentionKernel.Auto;

    /// <summary>Told after each tensor is read (on the loading thread, through <see cref="IProgress{T}.Report"/>); null for none.</summary>
    public IProgress<HuggingFaceLoadProgress>? Progress { get; init; }
}
