using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer.Training;

/// <summary>Gradient clipping by global norm, on the device and without a CPU round trip.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all gradients of <paramref name="parameters"/> together (in float32 or wider) and, when it
    /// exceeds <paramref name="maxNorm"/>, scales every gradient by <c>maxNorm / (norm + 1e-6)</c>, as PyTorch's
    /// <c>clip_grad_norm_</c> does. Parameters without a gradient are skipped. With <paramref name="maxNorm"/> null the
    /// norm is only measured. Returns the norm before clipping as a 0-dimensional float32 tensor (float64 when a gradient is float64)
    /// on the gradients' device (the caller owns it), or null when no parameter has a gradient.
    /// </summary>
    public static Tensor? ClipByGlobalNorm(IEnumerable<Parameter> parameters, double? maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (maxNorm is { } limit) Guard.PositiveFinite(limit, nameof(maxNorm));
        using var scope = NewDisposeScope();
        var gradients = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (gradients.Count == 0) return null;
        var wide = gradients.Any(g => g.dtype == ScalarType.Float64) ? ScalarType.Float64 : ScalarType.Float32;
        var total = stack(gradients.Select(g => g.to(wide).norm()).ToArray()).norm();
        if (maxNorm is { } max)
        {
            var factor = total.Plus(1e-6).reciprocal().Times(max).AtMost(1.0);
            using var noGrad = no_grad();
            foreach (var g in gradients) g.mul_(factor.to(g.dtype));
        }
        return total.MoveToOuterDisposeScope();
    }
}
