using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Rotary position embedding in the interleaved (GPT-J) layout: dimensions <c>(2i, 2i+1)</c> of each head are rotated
/// by the angle <c>position * inv[i]</c>, <c>inv[i] = theta^(-2i/headDim)</c>, optionally rescaled by
/// <see cref="RopeScaling"/>. Checkpoints in the half-split layout (Llama: dimensions <c>i</c> and <c>i + headDim/2</c>)
/// are permuted into this one when they are loaded. One value per attention module; every layer of a model has an
/// equal one, so a model call builds the tables once.
/// </summary>
internal sealed record RotaryEmbedding(int HeadDim, double Theta, RopeScaling? Scaling = null)
{
    /// <summary>The <c>HeadDim / 2</c> inverse frequencies in radians per position, after scaling, computed in float64.</summary>
    public double[] InverseFrequencies { get; } = Frequencies(HeadDim, Theta, Scaling);

    /// <summary>
    /// Cosine and sine tables for <paramref name="positions"/> (<c>[time]</c> or <c>[batch, time]</c>, int64), each of
    /// shape <c>positions.shape + [headDim/2]</c>, in <paramref name="dtype"/> on the positions' device.
    /// Angles are computed in float64 so that every dtype gets correctly rounded tables.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var inverseFrequency = tensor(InverseFrequencies, ScalarType.Float64, positions.device);
        var angles = positions.to(ScalarType.Float64).unsqueeze(-1) * inverseFrequency;
        return (angles.cos().to(dtype).MoveToOuterDisposeScope(), angles.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The tables <see cref="Apply"/> takes, for <paramref name="positions"/> as in <see cref="Tables"/>: each of shape
    /// <c>positions.shape + [headDim]</c>, the cosine repeated for both dimensions of a pair (<c>c0 c0 c1 c1 ...</c>) and
    /// the sine signed for them (<c>-s0 s0 -s1 s1 ...</c>). Built once per model call and shared by its layers.
    /// </summary>
    public (Tensor Cos, Tensor Sin) PairTables(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = Tables(positions, dtype);
        var pairCos = stack(new[] { cos, cos }, dim: -1).flatten(-2);
        var pairSin = stack(new[] { sin.neg(), sin }, dim: -1).flatten(-2);
        return (pairCos.MoveToOuterDisposeScope(), pairSin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates <c>x [batch, time, heads, headDim]</c> by the <see cref="PairTables"/> <paramref name="cos"/> and
    /// <paramref name="sin"/> (<c>[time, headDim]</c> or <c>[batch, time, headDim]</c>): <c>x * cos + swap(x) * sin</c>,
    /// where <c>swap</c> exchanges the two dimensions of each pair. Per pair that is <c>(e c - o s, o c + e s)</c>, the
    /// rotation as written, with the same roundings (negation is exact and addition commutes), in eight LibTorch calls.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var swapped = x.view(shape[0], shape[1], shape[2], shape[3] / 2, 2).flip(-1).view(shape);
        var rotated = (x * cos.unsqueeze(-2)).Plus(swapped * sin.unsqueeze(-2)); // the tables broadcast over heads
        return rotated.MoveToOuterDisposeScope();
    }

    private static double[] Frequencies(int headDim, double theta, RopeScaling? scaling)
    {
        var frequencies = Enumerable.Range(0, headDim / 2).Select(i => Math.Pow(theta, -2.0 * i / headDim)).ToArray();
        return scaling is null ? frequencies : scaling.Apply(frequencies);
    }

    /// <summary>Value equality, frequencies included (records compare arrays by reference).</summary>
    public bool Equals(RotaryEmbedding? other) =>
        other is not null && HeadDim == other.HeadDim && Theta.Equals(other.Theta) && Equals(Scaling, other.Scaling);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(HeadDim, Theta, Scaling);
}
