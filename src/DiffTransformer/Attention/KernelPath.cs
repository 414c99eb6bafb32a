namespace DiffTransformer;

/// <summary>The code path one attention call takes, decided once by <see cref="AttentionCall"/>.</summary>
internal enum KernelPath
{
    /// <summary>Explicit maps (<see cref="ScaledDotProduct.Probabilities"/>, <see cref="ScaledDotProduct.Apply"/>); the only path that can publish them.</summary>
    Naive,

    /// <summary>SDPA over queries and keys of the same positions (<see cref="ScaledDotProduct.Fused"/>): training, prefill.</summary>
    Fused,

    /// <summary>SDPA of queries that continue a KV cache (<see cref="ScaledDotProduct.FusedAfterCache"/>): decoding.</summary>
    FusedAfterCache,
}
