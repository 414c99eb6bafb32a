using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The KV caches of all layers of a <see cref="DiffTransformerLM"/> plus the key padding mask of the cached tokens.
/// Create one with <see cref="DiffTransformerLM.CreateCache"/>, pass it to every <see cref="DiffTransformerLM.forward(TorchSharp.torch.Tensor, KvCache, TorchSharp.torch.Tensor)"/>
/// call of one generation, then <see cref="Reset"/> it for reuse or dispose it to free its memory.
/// Thread safety: a cache holds one sequence, so it belongs to one request at a time. A <c>forward</c> call holds it for
/// the call; a generation (<c>Generate</c>, or a stream from its first step until its enumerator is disposed) holds it
/// throughout. Another call with the same cache, on any thread, and <see cref="Reset"/>, <see cref="EnsureCapacity"/>,
/// <see cref="Crop"/> or <see cref="Dispose"/> meanwhile, throw <see cref="InvalidOperationException"/>. The cache
/// remembers the model and the weight version its keys and values were computed with: continuing it with another model,
/// or after the model's weights changed (<see cref="Trainer.Step"/>, a weight load), throws
/// <see cref="InvalidOperationException"/> until it is reset.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly KvCacheLayer[] layers;
    private Tensor? maskBuffer;      // bool [batch, capacity]: its first maskLength columns are the key mask
    private long maskLength;
    private Tensor? realCounts;      // int64 [batch]: real keys of each row among the first maskLength
    private WeightGuard? filledBy;   // the model whose keys and values the cache holds
    private long filledVersion;      // and the version of its weights

    /// <summary>Creates empty caches for <paramref name="numLayers"/> layers.</summary>
    public KvCache(int numLayers, long initialCapacity = 256)
    {
        Guard.Positive(numLayers, nameof(numLayers));
        layers = new KvCacheLayer[numLayers];
        for (int i = 0; i < numLayers; i++) layers[i] = new KvCacheLayer(initialCapacity, Use);
    }

    /// <summary>Held by the call or generation that uses the cache; shared by its layers.</summary>
    internal InUseFlag Use { get; } = new(nameof(KvCache));

    /// <summary>The per-layer caches (internal: a layer used on its own would fall out of step with the others and the key mask).</summary>
    internal IReadOnlyList<KvCacheLayer> Layers => layers;

    /// <summary>Number of cached positions (the same in every layer).</summary>
    public long Length => layers[0].Length;

    /// <summary>Bool <c>[batch, Length]</c>, false at padding positions; null while no padding has been seen.</summary>
    public Tensor? KeyMask => maskBuffer?.narrow(1, 0, Length);

    /// <summary>Forgets all cached positions, keeping the buffers (the next call may use another batch size).</summary>
    public void Reset()
    {
        Use.ThrowIfHeld($"{nameof(KvCache)}.{nameof(Reset)}");
        ResetCore();
    }

    /// <summary><see cref="Reset"/> for the holder of <see cref="Use"/>.</summary>
    internal void ResetCore()
    {
        foreach (var layer in layers) layer.ResetCore();
        ReleaseMask();
    }

    /// <summary>Makes room in every layer for <paramref name="positions"/> positions, so that decoding up to that length never regrows.</summary>
    public void EnsureCapacity(long positions)
    {
        Use.ThrowIfHeld($"{nameof(KvCache)}.{nameof(EnsureCapacity)}");
        EnsureCapacityCore(positions);
    }

    /// <summary><see cref="EnsureCapacity"/> for the holder of <see cref="Use"/>.</summary>
    internal void EnsureCapacityCore(long positions)
    {
        foreach (var layer in layers) layer.EnsureCapacityCore(positions);
    }

    /// <summary>
    /// Keeps the first <paramref name="length"/> cached positions in every layer and forgets the rest, e.g. to retry the
    /// last steps of a generation (0 &lt;= length &lt;= <see cref="Length"/>).
    /// </summary>
    public void Crop(long length)
    {
        Use.ThrowIfHeld($"{nameof(KvCache)}.{nameof(Crop)}");
        // Layer 0 checks the range (its Length is this Length) before any layer changes.
        foreach (var layer in layers) layer.CropCore(length);
        if (length == 0) ReleaseMask(); // the next call starts afresh
        // else the buffer keeps its first `length` columns; Extend recounts the rows from them (maskLength != Length)
    }

    /// <summary>Batch size of the cached positions; null while the cache is empty.</summary>
    internal long? Batch => layers[0].Batch;

    /// <summary>
    /// Extends the key mask by this call's <paramref name="newMask"/> (<c>[batch, time]</c>; null means all real) and returns
    /// the full mask <c>[batch, Length + time]</c> with the call's rotary positions <c>[batch, time]</c> (each row counts
    /// its real tokens, so that left padding does not shift them); both null when nothing has ever been padded. The mask
    /// lives in a buffer that grows by doubling and the rows' real-token counts are kept, so a decoding step writes its own
    /// columns only: its cost does not grow with the cached length.
    /// </summary>
    internal (Tensor? KeyMask, Tensor? Positions) Extend(Tensor? newMask, long batch, long time, Device device)
    {
        if (newMask is null && maskBuffer is null) return (null, null);
        long past = Length;
        if (maskBuffer is null)
        {
            maskBuffer = ones(new[] { batch, Math.Max(2 * (past + time), 256) }, ScalarType.Bool, device).DetachFromDisposeScope();
            realCounts = zeros(batch, ScalarType.Int64, device).PlusInPlace(past).DetachFromDisposeScope();
            maskLength = past;
        }
        else if (past + time > maskBuffer.shape[1])
        {
            var grown = ones(new[] { batch, 2 * (past + time) }, ScalarType.Bool, device).DetachFromDisposeScope();
            grown.narrow(1, 0, past).copy_(maskBuffer.narrow(1, 0, past));
            maskBuffer.Dispose();
            maskBuffer = grown;
        }
        if (maskLength != past) // cropped, or a call failed after extending: recount what the layers hold
        {
            realCounts!.Dispose();
            realCounts = maskBuffer.narrow(1, 0, past).sum(new long[] { 1 }, type: ScalarType.Int64).DetachFromDisposeScope();
        }
        var counts = realCounts!;
        Tensor positions;
        if (newMask is null)
        {
            maskBuffer.narrow(1, past, time).fill_(ScalarMath.True);
            positions = counts.unsqueeze(1).Plus(ScalarMath.Range(0, time, 1, ScalarType.Int64, device));
            counts.PlusInPlace(time);
        }
        else
        {
            var added = newMask.to(ScalarType.Bool);
            maskBuffer.narrow(1, past, time).copy_(added);
            var running = added.to(ScalarType.Int64).cumsum(1);
            positions = counts.unsqueeze(1).Plus(running).Minus(1).AtLeast(0);
            counts.PlusInPlace(running.select(1, time - 1));
        }
        maskLength = past + time;
        return (maskBuffer.narrow(1, 0, past + time), positions);
    }

    private void ReleaseMask()
    {
        maskBuffer?.Dispose();
        realCounts?.Dispose();
        maskBuffer = realCounts = null;
        maskLength = 0;
    }

    /// <summary>
    /// Checks, inside a call that holds <see cref="Use"/> and reads the weights, that what the cache holds was computed by
    /// <paramref name="weights"/>' model at its current version; an empty cache takes them on.
    /// </summary>
    internal void CheckFilledBy(WeightGuard weights)
    {
        long version = weights.Version;
        if (Length == 0)
        {
            (filledBy, filledVersion) = (weights, version);
            return;
        }
        if (!ReferenceEquals(filledBy, weights))
            throw new InvalidOperationException(
                $"The KvCache holds {Length} positions computed by another DiffTransformerLM; Reset() it or use a new cache for this model.");
        if (filledVersion != version)
            throw new InvalidOperationException(
                $"The KvCache holds {Length} positions computed with weights the model no longer has (weight version {filledVersion}, now {version}: " +
                "a training step or a weight load ran since). Reset() it and run the sequence again.");
    }

    /// <summary>Frees every layer's buffers. Throws <see cref="InvalidOperationException"/> while a call uses the cache.</summary>
    public void Dispose()
    {
        Use.ThrowIfHeld($"{nameof(KvCache)}.{nameof(Dispose)}");
        DisposeCore();
    }

    /// <summary><see cref="Dispose"/> for the holder of <see cref="Use"/>.</summary>
    internal void DisposeCore()
    {
        foreach (var layer in layers) layer.DisposeCore();
        ReleaseMask();
    }
}
