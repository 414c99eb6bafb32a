namespace DiffTransformer;

/// <summary>
/// One tensor of a Hugging Face checkpoint and where it lives in a <see cref="DiffTransformerLM"/>.
/// </summary>
/// <param name="Ours">The key in this library's state dict.</param>
/// <param name="Theirs">The key in the checkpoint; null for a tensor the checkpoint does not store (DiffLlama's per-head
/// norm has no weight: here it is ones after a load, and is folded into <c>o_proj</c> on a save).</param>
/// <param name="Layout">The row permutation between the two, or null when the rows are the same.</param>
/// <param name="ColumnScale">The key (here) of a vector folded into this tensor's columns on a save, tiled across them:
/// V1's per-head norm weight into <c>o_proj</c>, because DiffLlama's per-head norm has no weight. After a load that
/// vector is ones, so the fold gives the stored bits back.</param>
internal sealed record HuggingFaceTensor(string Ours, string? Theirs, TensorLayout? Layout, string? ColumnScale = null);
