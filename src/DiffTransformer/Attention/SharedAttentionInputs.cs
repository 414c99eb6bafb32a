using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// What every layer of one model call would otherwise rebuild: the rotary tables (positions, head size and theta are
/// model-wide) and the padded attention mask. <see cref="DiffTransformerLM"/> builds them once per call and hands them
/// to each layer through <see cref="AttentionContext"/>; a layer whose call does not match (another head size, dtype,
/// device, time or cache length) builds its own, as a standalone module always does. The tensors live in the model
/// call's dispose scope.
/// </summary>
internal sealed class SharedAttentionInputs
{
    readonly int headDim;
    readonly double theta;
    readonly long cached, time;

    /// <param name="positions">Rotary positions of the call's tokens, int64 <c>[time]</c> or <c>[batch, time]</c>.</param>
    /// <param name="keyMask">Bool <c>[batch, cached + time]</c>, true for real keys; null when all keys are real.</param>
    /// <param name="cached">Positions already in the cache.</param>
    /// <param name="headDim">Rotary head size of the layers.</param>
    /// <param name="theta">Rotary base of the layers.</param>
    /// <param name="dtype">Dtype of the layers' inputs.</param>
    public SharedAttentionInputs(Tensor positions, Tensor? keyMask, long cached, int headDim, double theta, ScalarType dtype)
    {
        time = positions.shape[^1];
        this.cached = cached;
        this.headDim = headDim;
        this.theta = theta;
        (Cos, Sin) = Rotary.Tables(positions, headDim, theta, dtype);
        Mask = keyMask is null ? null : ScaledDotProduct.Allowed(time, cached + time, keyMask, positions.device);
    }

    /// <summary>Rotary cosine table, <c>positions.shape + [headDim/2]</c>.</summary>
    public Tensor Cos { get; }

    /// <summary>Rotary sine table, <c>positions.shape + [headDim/2]</c>.</summary>
    public Tensor Sin { get; }

    /// <summary>
    /// Bool <c>[batch, 1, time, cached + time]</c> (<see cref="ScaledDotProduct.Allowed"/> with the key mask); null when
    /// all keys are real.
    /// </summary>
    public Tensor? Mask { get; }

    /// <summary>True when these inputs are the ones a layer would build for <paramref name="x"/> itself.</summary>
    public bool Fit(Tensor x, long cachedLength, int layerHeadDim, double layerTheta) =>
        layerHeadDim == headDim && layerTheta.Equals(theta) && cachedLength == cached && x.shape[1] == time &&
        x.dtype == Cos.dtype && x.device_type == Cos.device_type && x.device_index == Cos.device_index;
}
