using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The KV caches of all layers of a <see cref="DiffTransformerLM"/> plus the key padding mask of the cached tokens.
/// Create one with <see cref="DiffTransformerLM.CreateCache"/>, pass it to every <see cref="DiffTransformerLM.forward(TorchSharp.torch.Tensor, KvCache, TorchSharp.torch.Tensor)"/>
/// call of one generation, then <see cref="Reset"/> it for reuse or dispose it to free its memory.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly KvCacheLayer[] layers;
    private Tensor? keyMask;

    /// <summary>Creates empty caches for <paramref name="numLayers"/> layers.</summary>
    public KvCache(int numLayers, long initialCapacity = 256)
    {
        Guard.Positive(numLayers, nameof(numLayers));
        layers = new KvCacheLayer[numLayers];
        for (int i = 0; i < numLayers; i++) layers[i] = new KvCacheLayer(initialCapacity);
    }

    /// <summary>The per-layer caches.</summary>
    public IReadOnlyList<KvCacheLayer> Layers => layers;

    /// <summary>Number of cached positions (the same in every layer).</summary>
    public long Length => layers[0].Length;

    /// <summary>Bool <c>[batch, Length]</c>, false at padding positions; null while no padding has been seen.</summary>
    public Tensor? KeyMask => keyMask;

    /// <summary>Forgets all cached positions, keeping the buffers (the next call may use another batch size).</summary>
    public void Reset()
    {
        foreach (var layer in layers) layer.Reset();
        keyMask?.Dispose();
        keyMask = null;
    }

    /// <summary>Makes room in every layer for <paramref name="positions"/> positions, so that decoding up to that length never regrows.</summary>
    public void EnsureCapacity(long positions)
    {
        foreach (var layer in layers) layer.EnsureCapacity(positions);
    }

    /// <summary>
    /// Keeps the first <paramref name="length"/> cached positions in every layer and forgets the rest, e.g. to retry the
    /// last steps of a generation (0 &lt;= length &lt;= <see cref="Length"/>).
    /// </summary>
    public void Crop(long length)
    {
        // Layer 0 checks the range (its Length is this Length) before any layer changes.
        foreach (var layer in layers) layer.Crop(length);
        if (keyMask is null) return;
        Tensor? kept = null;
        if (length > 0)
            using (NewDisposeScope()) kept = keyMask.narrow(1, 0, length).clone().DetachFromDisposeScope();
        keyMask.Dispose();
        keyMask = kept;
    }

    /// <summary>Batch size of the cached positions; null while the cache is empty.</summary>
    internal long? Batch => layers[0].Batch;

    /// <summary>
    /// Extends the key mask by this call's <paramref name="newMask"/> (<c>[batch, time]</c>; null means all real) and returns
    /// the full mask, or null when nothing has ever been padded.
    /// </summary>
    internal Tensor? ExtendKeyMask(Tensor? newMask, long batch, long time, Device device)
    {
        if (newMask is null && keyMask is null) return null;
        var past = keyMask ?? ones(new[] { batch, Length }, ScalarType.Bool, device);
        var added = newMask ?? ones(new[] { batch, time }, ScalarType.Bool, device);
        var full = cat(new[] { past, added.to(ScalarType.Bool) }, 1);
        keyMask?.Dispose();
        keyMask = full.detach().DetachFromDisposeScope();
        return keyMask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in layers) layer.Dispose();
        keyMask?.Dispose();
        keyMask = null;
    }
}
