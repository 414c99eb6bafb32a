using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Keys and values of one attention layer kept between decoding calls, in preallocated buffers that grow by doubling.
/// Keys are stored after the rotary embedding. Shapes: keys <c>[batch, kvHeads, capacity, keyDim]</c>, values
/// <c>[batch, kvHeads, capacity, valueDim]</c> (for V1, keyDim and valueDim are <c>2*headDim</c>: both sub-heads).
/// The buffers take the batch size, dtype and device of the first keys appended after creation or <see cref="Reset"/>.
/// The cache is for inference: what it stores is detached from autograd.
/// </summary>
public sealed class KvCacheLayer : IDisposable
{
    Tensor? keys, values;
    long minimumCapacity;

    /// <summary>Creates an empty cache whose buffers start with room for <paramref name="initialCapacity"/> positions.</summary>
    public KvCacheLayer(long initialCapacity = 256)
    {
        Guard.AtLeast(initialCapacity, nameof(initialCapacity), 1);
        minimumCapacity = initialCapacity;
    }

    /// <summary>Number of cached positions.</summary>
    public long Length { get; private set; }

    /// <summary>Positions the buffers hold before they must grow.</summary>
    public long Capacity => keys?.shape[2] ?? 0;

    /// <summary>Batch size of the cached positions; null while the cache is empty.</summary>
    internal long? Batch => Length > 0 ? keys!.shape[0] : null;

    /// <summary>Forgets the cached positions but keeps the buffers for reuse (with any batch size, dtype or device).</summary>
    public void Reset() => Length = 0;

    /// <summary>
    /// Makes room for at least <paramref name="positions"/> positions without further growth: the buffers are enlarged now
    /// (keeping what is cached) or, if none are allocated yet, allocated at that size on the next append.
    /// </summary>
    public void EnsureCapacity(long positions)
    {
        Guard.AtLeast(positions, nameof(positions), 1);
        minimumCapacity = Math.Max(minimumCapacity, positions);
        if (keys is null || Capacity >= positions) return;
        if (Length > 0) Grow(positions);
        else Release();
    }

    /// <summary>Keeps the first <paramref name="length"/> cached positions and forgets the rest (0 &lt;= length &lt;= Length).</summary>
    public void Crop(long length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{nameof(length)} must lie in [0, {Length}] (the cached length); got {length}.");
        Length = length;
    }

    /// <summary>Appends keys <c>[B, Hk, T, Dk]</c> and values <c>[B, Hk, T, Dv]</c>; returns views of everything cached.</summary>
    internal (Tensor Keys, Tensor Values) Append(Tensor k, Tensor v)
    {
        long time = k.shape[2];
        if (keys is not null && (!SameLayout(keys, k) || !SameLayout(values!, v)))
        {
            if (Length > 0)
                throw new InvalidOperationException(
                    $"The cache holds keys {Guard.Shape(keys)} ({keys.dtype}, {keys.device}) and values {Guard.Shape(values!)}; " +
                    $"cannot append keys {Guard.Shape(k)} ({k.dtype}, {k.device}) and values {Guard.Shape(v)}. Call Reset() or use a new cache.");
            Release(); // empty: take the new batch size, dtype or device
        }
        if (keys is null || values is null)
        {
            long capacity = Math.Max(minimumCapacity, time);
            keys = Allocate(k, capacity);
            values = Allocate(v, capacity);
        }
        if (Length + time > Capacity) Grow(Math.Max(2 * Capacity, Length + time));
        using (no_grad())
        {
            keys.narrow(2, Length, time).copy_(k);
            values.narrow(2, Length, time).copy_(v);
        }
        Length += time;
        return (keys.narrow(2, 0, Length), values.narrow(2, 0, Length));
    }

    void Grow(long capacity)
    {
        using var scope = NewDisposeScope(); // the narrow() wrappers; the new buffers leave it (Allocate)
        var (oldKeys, oldValues) = (keys!, values!);
        keys = Allocate(oldKeys, capacity);
        values = Allocate(oldValues, capacity);
        using (no_grad())
        {
            keys.narrow(2, 0, Length).copy_(oldKeys.narrow(2, 0, Length));
            values.narrow(2, 0, Length).copy_(oldValues.narrow(2, 0, Length));
        }
        oldKeys.Dispose();
        oldValues.Dispose();
    }

    void Release()
    {
        keys?.Dispose();
        values?.Dispose();
        keys = values = null;
    }

    static Tensor Allocate(Tensor like, long capacity) =>
        empty(new[] { like.shape[0], like.shape[1], capacity, like.shape[3] }, like.dtype, like.device).DetachFromDisposeScope();

    static bool SameLayout(Tensor buffer, Tensor t) =>
        buffer.shape[0] == t.shape[0] && buffer.shape[1] == t.shape[1] && buffer.shape[3] == t.shape[3] &&
        buffer.dtype == t.dtype && buffer.device_type == t.device_type && buffer.device_index == t.device_index;

    /// <inheritdoc />
    public void Dispose()
    {
        Release();
        Length = 0;
    }
}
