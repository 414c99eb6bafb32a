using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Keys and values of one attention layer kept between decoding calls, in preallocated buffers that grow by doubling.
/// Keys are stored after the rotary embedding. Shapes: keys <c>[batch, kvHeads, capacity, keyDim]</c>, values
/// <c>[batch, kvHeads, capacity, valueDim]</c> (for V1, keyDim and valueDim are <c>2*headDim</c>: both sub-heads).
/// The buffers take the batch size, dtype and device of the first keys appended after creation or <see cref="Reset"/>.
/// The cache is for inference: what it stores is detached from autograd.
/// Thread safety: a cache layer holds one sequence and serves one call at a time. A call that uses it (directly, through
/// <see cref="AttentionContext.Cache"/>, or through the <see cref="KvCache"/> it belongs to) holds it until the call ends;
/// a second call that overlaps, and <see cref="Reset"/>, <see cref="EnsureCapacity"/>, <see cref="Crop"/> or
/// <see cref="Dispose"/> meanwhile, throw <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class KvCacheLayer : IDisposable
{
    Tensor? keys, values;
    Tensor? remembered; // a value computed from the weights alone (V1's lambda), kept for the sequence
    long minimumCapacity;

    /// <summary>Creates an empty cache whose buffers start with room for <paramref name="initialCapacity"/> positions.</summary>
    public KvCacheLayer(long initialCapacity = 256) : this(initialCapacity, new InUseFlag(nameof(KvCacheLayer)))
    {
    }

    /// <summary>A layer of a <see cref="KvCache"/>, sharing its in-use flag.</summary>
    internal KvCacheLayer(long initialCapacity, InUseFlag use)
    {
        Guard.AtLeast(initialCapacity, nameof(initialCapacity), 1);
        minimumCapacity = initialCapacity;
        Use = use;
    }

    /// <summary>Held by the call that uses this layer (shared with the <see cref="KvCache"/> it belongs to).</summary>
    internal InUseFlag Use { get; }

    /// <summary>Number of cached positions.</summary>
    public long Length { get; private set; }

    /// <summary>Positions the buffers hold before they must grow.</summary>
    public long Capacity => keys?.shape[2] ?? 0;

    /// <summary>Batch size of the cached positions; null while the cache is empty.</summary>
    internal long? Batch => Length > 0 ? keys!.shape[0] : null;

    /// <summary>Forgets the cached positions but keeps the buffers for reuse (with any batch size, dtype or device).</summary>
    public void Reset()
    {
        Use.ThrowIfHeld($"{nameof(KvCacheLayer)}.{nameof(Reset)}");
        ResetCore();
    }

    /// <summary><see cref="Reset"/> for the holder of <see cref="Use"/>.</summary>
    internal void ResetCore()
    {
        Length = 0;
        Forget();
    }

    /// <summary>
    /// Makes room for at least <paramref name="positions"/> positions without further growth: the buffers are enlarged now
    /// (keeping what is cached) or, if none are allocated yet, allocated at that size on the next append.
    /// </summary>
    public void EnsureCapacity(long positions)
    {
        Use.ThrowIfHeld($"{nameof(KvCacheLayer)}.{nameof(EnsureCapacity)}");
        EnsureCapacityCore(positions);
    }

    /// <summary><see cref="EnsureCapacity"/> for the holder of <see cref="Use"/>.</summary>
    internal void EnsureCapacityCore(long positions)
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
        Use.ThrowIfHeld($"{nameof(KvCacheLayer)}.{nameof(Crop)}");
        CropCore(length);
    }

    /// <summary><see cref="Crop"/> for the holder of <see cref="Use"/>.</summary>
    internal void CropCore(long length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{nameof(length)} must lie in [0, {Length}] (the cached length); got {length}.");
        Length = length;
        if (length == 0) Forget();
    }

    /// <summary>Appends keys <c>[B, Hk, T, Dk]</c> and values <c>[B, Hk, T, Dv]</c>; returns views of everything cached.</summary>
    internal (Tensor Keys, Tensor Values) Append(Tensor k, Tensor v)
    {
        long time = k.shape[2];
        if (Length == 0) Forget(); // a new sequence: nothing computed for the last one carries over
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

    /// <summary>
    /// The value <paramref name="compute"/> gives (a tensor made from the module's weights alone, such as V1's lambda),
    /// computed on the first call of the sequence and returned again until the cache is reset, cropped to nothing or
    /// disposed: the weights cannot change within a cached sequence (its keys and values would be stale too; see
    /// <see cref="KvCache"/>). For calls without gradients only; the tensor belongs to the cache.
    /// </summary>
    internal Tensor Remembered(Func<Tensor> compute) =>
        remembered ??= compute().detach().DetachFromDisposeScope();

    void Forget()
    {
        remembered?.Dispose();
        remembered = null;
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

    /// <summary>Frees the buffers. Throws <see cref="InvalidOperationException"/> while a call uses the layer.</summary>
    public void Dispose()
    {
        Use.ThrowIfHeld($"{nameof(KvCacheLayer)}.{nameof(Dispose)}");
        DisposeCore();
    }

    /// <summary><see cref="Dispose"/> for the holder of <see cref="Use"/>.</summary>
    internal void DisposeCore()
    {
        Release();
        Forget();
        Length = 0;
    }
}
