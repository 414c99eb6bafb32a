using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// One layer's attention call: the shared <see cref="AttentionInputs"/>, this layer's cache and map sink, and the
/// kernel path. The path is decided here and nowhere else, from the kernel <see cref="CausalSelfAttention.KernelFor"/>
/// resolved: the maps can only be published by the naive kernel; a fused
/// call continues a cache when there is one (its queries are the last positions of the keys).
/// </summary>
internal sealed class AttentionCall
{
    readonly KvCacheLayer? cache;

    /// <param name="inputs">The call's shared inputs.</param>
    /// <param name="cache">This layer's cache, if any.</param>
    /// <param name="mapSink">Receives the maps, if the caller asked for them.</param>
    /// <param name="kernel">The kernel the module resolved for the call (<see cref="CausalSelfAttention.KernelFor"/>): naive or fused.</param>
    public AttentionCall(AttentionInputs inputs, KvCacheLayer? cache, Action<AttentionMaps>? mapSink, AttentionKernel kernel)
    {
        Inputs = inputs;
        this.cache = cache;
        MapSink = mapSink;
        bool naive = kernel == AttentionKernel.Naive;
        Path = naive || mapSink is not null ? KernelPath.Naive
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

    /// <summary>
    /// A value computed from the module's weights alone (V1's lambda): without gradients and with a cache, computed once
    /// per cached sequence (<see cref="KvCacheLayer.Remembered"/>); otherwise on every call, so that gradients flow.
    /// </summary>
    public Tensor WeightsOnly(Func<Tensor> compute) =>
        cache is null || is_grad_enabled() ? compute() : cache.Remembered(compute);

    /// <summary>Appends this call's keys and values (<c>[B, Hk, T, D]</c>) to the cache, if any, and returns all keys and values.</summary>
    public (Tensor Keys, Tensor Values) Remember(Tensor keys, Tensor values) =>
        cache is null ? (keys, values) : cache.Append(keys, values);
}
