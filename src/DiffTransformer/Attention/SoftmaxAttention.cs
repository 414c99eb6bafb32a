using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Standard causal softmax attention with rotary positions and optional grouped KV heads, as the official
/// <c>MultiheadAttention</c> baseline of the Differential Transformer repository.
/// State-dict keys: <c>q_proj.weight k_proj.weight v_proj.weight out_proj.weight</c>.
/// </summary>
public sealed class SoftmaxAttention : CausalSelfAttention
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Projection q_proj, k_proj, v_proj, out_proj;
#pragma warning restore IDE1006
    private readonly int headDim;

    /// <summary>Creates the module with <c>numHeads</c> query heads of <c>headDim</c> (default <c>embedDim / numHeads</c>).</summary>
    /// <param name="embedDim">Model width; without <paramref name="headDim"/>, divisible by <paramref name="numHeads"/> into an even head size.</param>
    /// <param name="numHeads">Query heads.</param>
    /// <param name="numKvHeads">Key/value heads (default <paramref name="numHeads"/>); must divide <paramref name="numHeads"/>.</param>
    /// <param name="kernel">Naive or fused attention kernel.</param>
    /// <param name="ropeTheta">Rotary base.</param>
    /// <param name="headDim">Size of every head (even); null: <c>embedDim / numHeads</c>.</param>
    /// <param name="bias">Biases on the four projections (Llama's <c>attention_bias</c>).</param>
    /// <param name="ropeScaling">Scaling of the rotary frequencies; null for none.</param>
    public SoftmaxAttention(int embedDim, int numHeads, int? numKvHeads = null,
        AttentionKernel kernel = AttentionKernel.Auto, double ropeTheta = 10000, int? headDim = null, bool bias = false,
        RopeScaling? ropeScaling = null)
        : base(nameof(SoftmaxAttention), embedDim, numHeads, numKvHeads, kernel, ropeTheta, ropeScaling, bias)
    {
        this.headDim = CheckShape(embedDim, numHeads, numKvHeads, headDim, 1, kernel, ropeTheta, ropeScaling, AttentionArgumentNames.Constructor);
        int d = this.headDim;
        q_proj = NewProjection(embedDim, numHeads * d);
        k_proj = NewProjection(embedDim, NumKvHeads * d);
        v_proj = NewProjection(embedDim, NumKvHeads * d);
        out_proj = NewProjection(numHeads * d, embedDim);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <inheritdoc />
    public override int HeadDim => headDim;

    /// <inheritdoc />
    public override AttentionKind Kind => AttentionKind.Softmax;

    /// <inheritdoc />
    private protected override (int Heads, int MapsPerHead) NaiveMaps => (NumHeads, 3); // scores, masked, probabilities

    private protected override Tensor Attend(Tensor x, AttentionCall call)
    {
        long batch = x.shape[0], time = x.shape[1];
        var q = call.Rotate(q_proj.call(x).view(batch, time, NumHeads, headDim)).transpose(1, 2);
        var k = call.Rotate(k_proj.call(x).view(batch, time, NumKvHeads, headDim)).transpose(1, 2);
        var v = v_proj.call(x).view(batch, time, NumKvHeads, headDim).transpose(1, 2);
        (k, v) = call.Remember(k, v);
        double scale = 1.0 / Math.Sqrt(headDim);
        var attended = call.Path switch
        {
            KernelPath.Fused => ScaledDotProduct.Fused(q, k, v, scale, call.Mask),
            KernelPath.FusedAfterCache => ScaledDotProduct.FusedAfterCache(q, k, v, scale, call.Mask),
            _ => AttendNaive(q, k, v, scale, call),
        };
        return out_proj.call(attended.transpose(1, 2).reshape(batch, time, NumHeads * headDim));
    }

    /// <summary>The formula as written: an explicit softmax map times the values.</summary>
    private static Tensor AttendNaive(Tensor q, Tensor k, Tensor v, double scale, AttentionCall call)
    {
        var map = ScaledDotProduct.Probabilities(q, k, scale, call.Mask);
        call.MapSink?.Invoke(new AttentionMaps(AttentionKind.Softmax, map, null, null, null));
        return ScaledDotProduct.Apply(map, v);
    }
}
