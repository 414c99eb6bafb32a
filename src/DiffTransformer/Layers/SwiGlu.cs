using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// SwiGLU feed-forward: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>, without biases unless asked (Llama's
/// <c>mlp_bias</c>). Keys: <c>gate_proj.weight up_proj.weight down_proj.weight</c> (and <c>*.bias</c>).
/// </summary>
public sealed class SwiGlu : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Projection gate_proj, up_proj, down_proj;
#pragma warning restore IDE1006

    /// <summary>Creates the layer mapping <c>[..., embedDim]</c> through <paramref name="hiddenDim"/> and back.</summary>
    /// <param name="embedDim">Input and output width.</param>
    /// <param name="hiddenDim">Hidden width.</param>
    /// <param name="bias">Biases on the three projections.</param>
    public SwiGlu(int embedDim, int hiddenDim, bool bias = false) : base(nameof(SwiGlu))
    {
        Guard.Positive(embedDim, nameof(embedDim));
        Guard.Positive(hiddenDim, nameof(hiddenDim));
        EmbedDim = embedDim;
        HiddenDim = hiddenDim;
        gate_proj = new Projection(embedDim, hiddenDim, bias);
        up_proj = new Projection(embedDim, hiddenDim, bias);
        down_proj = new Projection(hiddenDim, embedDim, bias);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>Input and output width.</summary>
    public int EmbedDim { get; }

    /// <summary>Hidden width.</summary>
    public int HiddenDim { get; }

    /// <summary><c>[..., embedDim] -&gt; [..., embedDim]</c>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.silu(gate_proj.call(x)) * up_proj.call(x);
        return down_proj.call(hidden).MoveToOuterDisposeScope();
    }
}
