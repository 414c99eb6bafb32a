using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Root-mean-square normalisation over the last dimension with a learned scale (<c>weight</c>, initialised to ones):
/// <c>x / sqrt(mean(x^2) + eps) * weight</c>. Half-precision inputs are normalised in float32 and cast back.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Parameter weight;
#pragma warning restore IDE1006

    /// <summary>Creates the norm for vectors of size <paramref name="dim"/>.</summary>
    public RmsNorm(int dim, double eps = 1e-5) : base(nameof(RmsNorm))
    {
        Guard.Positive(dim, nameof(dim));
        Guard.PositiveFinite(eps, nameof(eps));
        Dim = dim;
        Eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>Size of the normalised (last) dimension.</summary>
    public int Dim { get; }

    /// <summary>Added to the mean square before the square root.</summary>
    public double Eps { get; }

    /// <summary>Normalises <c>[..., dim]</c>; returns the same shape and dtype.</summary>
    public override Tensor forward(Tensor x) => NormalizeAndScale(x, 1.0);

    /// <summary>
    /// As <see cref="forward"/>, times <paramref name="scale"/>: folding a constant factor into the weight saves a pass
    /// over <paramref name="x"/>. Hooks on the module do not run for this call.
    /// </summary>
    internal Tensor NormalizeAndScale(Tensor x, double scale)
    {
        if (x.dim() < 1 || x.shape[^1] != Dim)
            throw new ArgumentException($"x must have last dimension {Dim}; got shape {Guard.Shape(x)}.", nameof(x));
        using var scope = NewDisposeScope();
        var wide = DTypes.IsHalf(x.dtype) ? x.to(ScalarType.Float32) : x;
        var normalised = wide * rsqrt(wide.Power(2).mean(new long[] { -1 }, keepdim: true).Plus(Eps));
        var scaledWeight = scale == 1.0 ? weight : weight.Times(scale);
        return (normalised.to(x.dtype) * scaledWeight).MoveToOuterDisposeScope();
    }
}
