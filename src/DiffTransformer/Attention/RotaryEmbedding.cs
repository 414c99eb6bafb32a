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
    /// Rotates <paramref name="x"/> of shape <c>[batch, time, heads, headDim]</c> with tables of shape
    /// <c>[time, headDim/2]</c> or <c>[batch, time, headDim/2]</c>.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long[] shape = x.shape;
        var pairs = x.view(shape[0], shape[1], shape[2], shape[3] / 2, 2);
        var even = pairs.select(-1, 0);
        var odd = pairs.select(-1, 1);
        var c = cos.unsqueeze(-2); // broadcast over heads
        var s = sin.unsqueeze(-2);
        var rotated = stack(new[] { even * c - odd * s, (even * s).Plus(odd * c) }, dim: -1);
        return rotated.view(shape).MoveToOuterDisposeScope();
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
