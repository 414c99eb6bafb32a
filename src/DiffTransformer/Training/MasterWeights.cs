using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Float32 master copies of a low-precision model's parameters, for mixed-precision training without autocast: the
/// optimizer updates the masters; the model holds the masters rounded to its dtype.
/// </summary>
internal sealed class MasterWeights : IDisposable
{
    private readonly (Parameter Model, Parameter Master)[] pairs;

    /// <summary>
    /// Pairs every parameter of <paramref name="model"/> (already in low precision) with a float32 master taken from
    /// <paramref name="fullPrecision"/> (name to float32 values, captured before the model was converted).
    /// </summary>
    public MasterWeights(nn.Module model, IReadOnlyDictionary<string, Tensor> fullPrecision)
    {
        var list = new List<(Parameter, Parameter)>();
        var masters = new List<(string, Parameter)>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            var master = new Parameter(fullPrecision[name].to(ScalarType.Float32, parameter.device, copy: true), parameter.requires_grad);
            master.DetachFromDisposeScope();
            list.Add((parameter, master));
            masters.Add((name, master));
        }
        pairs = list.ToArray();
        Named = masters;
    }

    /// <summary>The masters under the model's parameter names, in the model's order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Named { get; }

    /// <summary>
    /// Adds the model's gradients, cast to float32, into the masters' gradients (replacing them when
    /// <paramref name="first"/>), then zeroes the model's. Called after every micro-batch, so accumulated gradients are
    /// summed in float32 rather than in the model's low precision.
    /// </summary>
    public void AccumulateGradients(bool first)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (model, master) in pairs)
        {
            var gradient = model.grad;
            var target = master.grad;
            if (gradient is null)
            {
                if (first) master.grad = null;
                continue;
            }
            if (target is null) master.grad = gradient.to(ScalarType.Float32, copy: true);
            else if (first) target.copy_(gradient);
            else target.PlusInPlace(gradient.to(ScalarType.Float32));
            gradient.zero_();
        }
    }

    /// <summary>Rounds the masters into the model's parameters.</summary>
    public void CopyMastersToModel()
    {
        using var noGrad = no_grad();
        foreach (var (model, master) in pairs) model.copy_(master);
    }

    public void Dispose()
    {
        foreach (var (_, master) in pairs)
        {
            master.grad = null;
            master.Dispose();
        }
    }
}
