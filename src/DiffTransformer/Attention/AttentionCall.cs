using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>One validated attention call: rotary tables, cache, padding mask and kernel choice. Lives inside the call's scope.</summary>
internal sealed class AttentionCall
{
    readonly Tensor cos, sin;
    readonly KvCacheLayer? cache;
    readonly Action<AttentionMaps>? mapsCaptured;

    AttentionCall(Tensor cos, Tensor sin, KvCacheLayer? cache, Tensor? mask, bool fused, Action<AttentionMaps>? mapsCaptured)
    {
        this.cos = cos;
        this.sin = sin;
        this.cache = cache;
        Mask = mask;
        Fused = fused;
        this.mapsCaptured = mapsCaptured;
    }

    /// <summary>True to use the fused kernel; false to materialise the maps.</summary>
    public bool Fused { get; }

    /// <summary>
    /// Bool <c>[batch, 1, time, keyTime]</c>, true where a query may attend (causal, padding keys removed; see
    /// <see cref="ScaledDotProduct.Allowed"/>); null when all keys are real, so that the plain causal rule applies.
    /// </summary>
    public Tensor? Mask { get; }

    /// <summary>True when the caller asked for the maps.</summary>
    public bool CapturesMaps => mapsCaptured is not null;

    public static AttentionCall Create(Tensor x, AttentionContext? context, int headDim, double theta, AttentionKernel kernel)
    {
        long batch = x.shape[0], time = x.shape[1];
        long cached = context?.Cache?.Length ?? 0;
        bool capture = context?.MapsCaptured is not null;
        bool fused = kernel != AttentionKernel.Naive && !capture;
        if (context?.Shared is { } shared && shared.Fit(x, cached, headDim, theta))
            return new AttentionCall(shared.Cos, shared.Sin, context.Cache, shared.Mask, fused, context.MapsCaptured);

        Tensor positions = context?.Positions is { } given
            ? CheckedPositions(given, batch, time, x.device)
            : ScalarMath.Range(cached, cached + time, 1, ScalarType.Int64, x.device);
        Tensor? keyMask = context?.KeyMask is { } keys ? CheckedKeyMask(keys, batch, cached + time, x.device) : null;
        var (cos, sin) = Rotary.Tables(positions, headDim, theta, x.dtype);
        var mask = keyMask is null ? null : ScaledDotProduct.Allowed(time, cached + time, keyMask, x.device);
        return new AttentionCall(cos, sin, context?.Cache, mask, fused, context?.MapsCaptured);
    }

    /// <summary>Applies the rotary embedding to <c>[batch, time, heads, headDim]</c>.</summary>
    public Tensor Rotate(Tensor t) => Rotary.Apply(t, cos, sin);

    /// <summary>Appends this call's keys and values (<c>[B, Hk, T, D]</c>) to the cache, if any, and returns all keys and values.</summary>
    public (Tensor Keys, Tensor Values) Remember(Tensor keys, Tensor values) =>
        cache is null ? (keys, values) : cache.Append(keys, values);

    public void Publish(AttentionMaps maps)
    {
        if (mapsCaptured is null) maps.Dispose();
        else mapsCaptured(maps);
    }

    static Tensor CheckedPositions(Tensor positions, long batch, long time, Device device)
    {
        bool shapeOk = (positions.dim() == 1 && positions.shape[0] == time) ||
                       (positions.dim() == 2 && positions.shape[0] == batch && positions.shape[1] == time);
        if (!shapeOk)
            throw new ArgumentException(
                $"Positions must have shape [{time}] or [{batch}, {time}] (time, or batch and time, of x); got {Guard.Shape(positions)}.",
                nameof(AttentionContext.Positions));
        if (positions.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new ArgumentException($"Positions must be int64 or int32; got {positions.dtype}.", nameof(AttentionContext.Positions));
        return positions.to(ScalarType.Int64).to(device);
    }

    static Tensor CheckedKeyMask(Tensor mask, long batch, long keyTime, Device device)
    {
        if (mask.dim() != 2 || mask.shape[0] != batch || mask.shape[1] != keyTime)
            throw new ArgumentException(
                $"KeyMask must have shape [batch, cached + time] = [{batch}, {keyTime}]; got {Guard.Shape(mask)}.",
                nameof(AttentionContext.KeyMask));
        return mask.to(ScalarType.Bool).to(device);
    }
}
