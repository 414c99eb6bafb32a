using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// What every attention layer of one call shares: the rotary tables of the call's positions and the padding-aware mask.
/// Built once, through this one constructor, by <see cref="DiffTransformerLM"/> for all its layers, and by a standalone
/// module or block for itself. Its tensors live in the dispose scope of the call that built it.
/// </summary>
internal sealed class AttentionInputs
{
    /// <param name="x">The call's input, <c>[batch, time, embedDim]</c> (already checked): gives batch, time, dtype and device.</param>
    /// <param name="cached">Positions already in the layers' caches.</param>
    /// <param name="positions">Rotary positions, int64 or int32 <c>[time]</c> or <c>[batch, time]</c>; null: <c>cached + 0..time-1</c>.</param>
    /// <param name="keyMask">True for real keys, <c>[batch, cached + time]</c>; null: all real.</param>
    /// <param name="rotary">The layers' rotary embedding.</param>
    public AttentionInputs(Tensor x, long cached, Tensor? positions, Tensor? keyMask, RotaryEmbedding rotary)
    {
        long batch = x.shape[0];
        Batch = batch;
        Time = x.shape[1];
        DType = x.dtype;
        Cached = cached;
        var device = x.device;
        var checkedPositions = positions is null
            ? ScalarMath.Range(cached, cached + Time, 1, ScalarType.Int64, device)
            : CheckedPositions(positions, batch, Time, device);
        (Cos, Sin) = rotary.PairTables(checkedPositions, x.dtype);
        Mask = keyMask is null ? null : ScaledDotProduct.Allowed(Time, cached + Time, CheckedKeyMask(keyMask, batch, cached + Time, device), device);
    }

    /// <summary>Batch rows of the call.</summary>
    public long Batch { get; }

    /// <summary>The dtype of the call's hidden states.</summary>
    public ScalarType DType { get; }

    /// <summary>Query positions of the call.</summary>
    public long Time { get; }

    /// <summary>Positions already cached before the call.</summary>
    public long Cached { get; }

    /// <summary>Rotary cosine table of <see cref="RotaryEmbedding.PairTables"/>, <c>positions.shape + [headDim]</c>.</summary>
    public Tensor Cos { get; }

    /// <summary>Rotary signed sine table of <see cref="RotaryEmbedding.PairTables"/>, <c>positions.shape + [headDim]</c>.</summary>
    public Tensor Sin { get; }

    /// <summary>
    /// Bool <c>[batch, 1, time, cached + time]</c>, true where a query may attend (causal, padding keys removed; see
    /// <see cref="ScaledDotProduct.Allowed"/>); null when all keys are real, so that the plain causal rule applies.
    /// </summary>
    public Tensor? Mask { get; }

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
