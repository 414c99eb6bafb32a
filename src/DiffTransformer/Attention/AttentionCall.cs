using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// One layer's attention call: the shared <see cref="AttentionInputs"/>, this layer's cache and map sink, and the
/// kernel path. The path is decided here and nowhere else: the maps can only be published by the naive kernel; a fused
/// call continues a cache when there is one (its queries are the last positions of the keys).
/// </summary>
internal sealed class AttentionCall
{
    readonly KvCacheLayer? cache;

    public AttentionCall(AttentionInputs inputs, KvCacheLayer? cache, Action<AttentionMaps>? mapSink, AttentionKernel kernel)
    {
        Inputs = inputs;
        this.cache = cache;
        MapSink = mapSink;
        Path = kernel == AttentionKernel.Naive || mapSink is not null ? KernelPath.Naive
            : inputs.Cached > 0 ? KernelPath.FusedAfterCache
            : KernelPath.Fused;
    }

    /// <summary>The tables and mask shared by the layers of the call.</summary>
    public AttentionInputs Inputs { get; }

    /// <summary>How the scores become outputs.</summary>
    public KernelPath Path { get; }

    /// <summary>Receives the maps when the caller asked for them (then <see cref="Path"/> is <see cref="KernelPath.Naive"/>).</summary>
    public Action<AttentionMaps>? MapSink { get; }

    /// <summary>The mask of <see cref="AttentionInputs.Mask"/>.</summary>
    public Tensor? Mask => Inputs.Mask;

    /// <summary>Applies the rotary embedding to <c>[batch, time, heads, headDim]</c>.</summary>
    public Tensor Rotate(Tensor t) => RotaryEmbedding.Apply(t, Inputs.Cos, Inputs.Sin);

    /// <summary>Appends this call's keys and values (<c>[B, Hk, T, D]</c>) to the cache, if any, and returns all keys and values.</summary>
    public (Tensor Keys, Tensor Values) Remember(Tensor keys, Tensor values) =>
        cache is null ? (keys, values) : cache.Append(keys, values);
}
