namespace DiffTransformer;

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
