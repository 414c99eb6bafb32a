using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// What one attention call needs beyond its input when it is not a plain training forward: a KV cache for incremental
/// decoding, explicit rotary positions, a key padding mask, or a request for the attention maps.
/// </summary>
public sealed class AttentionContext
{
    /// <summary>The layer's KV cache. Keys and values of this call are appended; queries attend to everything cached.</summary>
    public KvCacheLayer? Cache { get; init; }

    /// <summary>
    /// Rotary positions of this call's tokens, int64 <c>[time]</c> or <c>[batch, time]</c>. Default: the cache length
    /// plus <c>0..time-1</c>.
    /// </summary>
    public Tensor? Positions { get; init; }

    /// <summary>
    /// Which keys are real tokens (true) rather than padding (false), bool <c>[batch, keyTime]</c> where keyTime is the
    /// cache length plus this call's time. Default: all real.
    /// </summary>
    public Tensor? KeyMask { get; init; }

    /// <summary>
    /// When set, the call runs the naive kernel and hands the maps to this callback. The receiver owns them and should
    /// dispose them.
    /// </summary>
    public Action<AttentionMaps>? MapsCaptured { get; init; }

}
