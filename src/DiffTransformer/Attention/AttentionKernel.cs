namespace DiffTransformer;

/// <summary>How an attention module turns queries, keys and values into outputs. All kernels compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>The library's choice per call, by <see cref="CausalSelfAttention.AutoRule"/>: naive for short training calls whose maps fit its memory budget, fused otherwise.</summary>
    Auto,

    /// <summary>Materialises the <c>[time, time]</c> attention maps with explicit matrix products (inspectable, quadratic memory).</summary>
    Naive,

    /// <summary>Scaled-dot-product attention (flash-style kernels where available); never allocates a <c>[time, time]</c> map.</summary>
    Fused,
}
