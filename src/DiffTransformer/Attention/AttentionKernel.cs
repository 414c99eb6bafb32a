namespace DiffTransformer;

/// <summary>How an attention module turns queries, keys and values into outputs. All kernels compute the same function.</summary>
public enum AttentionKernel
{
    /// <summary>The library's choice: currently <see cref="Fused"/>.</summary>
    Auto,

    /// <summary>Materialises the <c>[time, time]</c> attention maps with explicit matrix products (inspectable, quadratic memory).</summary>
    Naive,

    /// <summary>Scaled-dot-product attention (flash-style kernels where available); never allocates a <c>[time, time]</c> map.</summary>
    Fused,
}

/// <summary>The attention mechanism used by a <see cref="DiffTransformerBlock"/> or a <see cref="DiffTransformerLM"/>.</summary>
public enum AttentionKind
{
    /// <summary>Standard softmax attention (<see cref="SoftmaxAttention"/>), the baseline.</summary>
    Softmax,

    /// <summary>Differential attention V1 (<see cref="DiffAttention"/>).</summary>
    Differential,

    /// <summary>Differential attention V2 (<see cref="DiffAttentionV2"/>).</summary>
    DifferentialV2,
}
