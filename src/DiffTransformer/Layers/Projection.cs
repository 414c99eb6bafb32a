using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// A linear map <c>x W^T + b</c> with the keys and initial values of <c>nn.Linear</c> (<c>weight [out, in]</c>,
/// optional <c>bias [out]</c>, kaiming-uniform with a = sqrt(5)). Its one difference is the call: a decoding step's few
/// rows on the CPU in float32, without gradients, take <see cref="SmallBatchLinear"/>, which reads the weight at the
/// memory bandwidth; every other call is <c>F.linear</c>.
/// </summary>
internal sealed class Projection : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Parameter weight;
    private readonly Parameter? bias;
#pragma warning restore IDE1006

    /// <summary>Maps <c>[..., inputs]</c> to <c>[..., outputs]</c>, initialised as <c>nn.Linear(inputs, outputs, hasBias)</c>.</summary>
    public Projection(long inputs, long outputs, bool hasBias) : base(nameof(Projection))
    {
        // The same draws in the same order as nn.Linear, so a seeded model is unchanged by this type.
        weight = new Parameter(empty(outputs, inputs));
        nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (hasBias)
        {
            bias = new Parameter(empty(outputs));
            double bound = inputs > 0 ? 1 / Math.Sqrt(inputs) : 0;
            nn.init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary><c>[..., in] -&gt; [..., out]</c>.</summary>
    public override Tensor forward(Tensor x) => Apply(x, weight, bias);

    /// <summary>
    /// <c>linear(x, weight, bias)</c>, <c>[..., in] x [out, in] (+ [out]) -&gt; [..., out]</c>, through
    /// <see cref="SmallBatchLinear"/> where it applies; the tied head calls it with the embedding table.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias = null) =>
        SmallBatchLinear.Applies(x, weight, bias) ? SmallBatchLinear.Forward(x, weight, bias) : nn.functional.linear(x, weight, bias);
}
