using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Differential attention V2, as the official <c>MultiheadFlashDiffV2(use_diff_v2: true)</c>: <c>2 * numHeads</c> query
/// heads of <c>headDim</c>, where heads <c>2i</c> and <c>2i+1</c> (always in the same KV group) are combined as
/// <c>A1 - sigmoid(lambda_proj(x)) * A2</c>, with a lambda per token and head and no per-head norm.
/// State-dict keys: <c>q_proj.weight k_proj.weight v_proj.weight o_proj.weight lambda_proj.weight</c>.
/// </summary>
public sealed class DiffAttentionV2 : CausalSelfAttention
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Projection q_proj, k_proj, v_proj, o_proj, lambda_proj;
#pragma warning restore IDE1006
    private readonly int headDim;

    /// <summary>Creates the module.</summary>
    /// <param name="embedDim">Model width.</param>
    /// <param name="numHeads">Output heads; the module has <c>2 * numHeads</c> query heads.</param>
    /// <param name="numKvHeads">Key/value heads (null: <paramref name="numHeads"/>); must divide <paramref name="numHeads"/>.</param>
    /// <param name="headDim">Size of every query, key and value head; even.</param>
    /// <param name="kernel">Naive or fused attention kernel.</param>
    /// <param name="ropeTheta">Rotary base.</param>
    /// <param name="bias">Biases on the query, key, value and output projections (<c>lambda_proj</c> has none).</param>
    /// <param name="ropeScaling">Scaling of the rotary frequencies; null for none.</param>
    public DiffAttentionV2(int embedDim, int numHeads, int? numKvHeads, int headDim,
        AttentionKernel kernel = AttentionKernel.Auto, double ropeTheta = 10000, bool bias = false, RopeScaling? ropeScaling = null)
        : base(nameof(DiffAttentionV2), embedDim, numHeads, numKvHeads, kernel, ropeTheta, ropeScaling, bias)
    {
        this.headDim = CheckShape(embedDim, numHeads, numKvHeads, headDim, 1, kernel, ropeTheta, ropeScaling, AttentionArgumentNames.Constructor);
        q_proj = NewProjection(embedDim, 2 * numHeads * headDim);
        k_proj = NewProjection(embedDim, NumKvHeads * headDim);
        v_proj = NewProjection(embedDim, NumKvHeads * headDim);
        o_proj = NewProjection(numHeads * headDim, embedDim);
        lambda_proj = new Projection(embedDim, numHeads, hasBias: false);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <inheritdoc />
    public override int HeadDim => headDim;

    /// <inheritdoc />
    public override AttentionKind Kind => AttentionKind.DifferentialV2;

    /// <inheritdoc />
    private protected override (int Heads, int MapsPerHead) NaiveMaps => (2 * NumHeads, 3); // both maps of each pair: scores, masked, probabilities

    private protected override Tensor Attend(Tensor x, AttentionCall call)
    {
        long batch = x.shape[0], time = x.shape[1];
        int heads = NumHeads, d = headDim;
        var q = call.Rotate(q_proj.call(x).view(batch, time, 2 * heads, d)).transpose(1, 2);
        var k = call.Rotate(k_proj.call(x).view(batch, time, NumKvHeads, d)).transpose(1, 2);
        var v = v_proj.call(x).view(batch, time, NumKvHeads, d).transpose(1, 2);
        (k, v) = call.Remember(k, v);
        var lambda = nn.functional.sigmoid(lambda_proj.call(x)).transpose(1, 2); // [batch, heads, time]
        double scale = 1.0 / Math.Sqrt(d);
        var attended = call.Path switch
        {
            KernelPath.Fused => Differential(ScaledDotProduct.Fused(q, k, v, scale, call.Mask), lambda),
            KernelPath.FusedAfterCache => Differential(ScaledDotProduct.FusedAfterCache(q, k, v, scale, call.Mask), lambda),
            _ => AttendNaive(q, k, v, lambda, scale, call),
        };
        return o_proj.call(attended.transpose(1, 2).reshape(batch, time, heads * d));
    }

    /// <summary>
    /// Pairs the <c>2 * heads</c> outputs <c>[B, 2 * heads, T, d]</c> of the fused kernel: <c>o(2i) - lambda * o(2i+1)</c>,
    /// <c>[B, heads, T, d]</c>, with <paramref name="lambda"/> <c>[B, heads, T]</c>.
    /// </summary>
    private Tensor Differential(Tensor outputs, Tensor lambda)
    {
        var both = outputs.reshape(outputs.shape[0], NumHeads, 2, outputs.shape[2], headDim);
        return both.select(2, 0) - lambda.unsqueeze(-1) * both.select(2, 1);
    }

    /// <summary>The formula as written: two explicit softmax maps per head, their difference, times the values.</summary>
    private Tensor AttendNaive(Tensor q, Tensor k, Tensor v, Tensor lambda, double scale, AttentionCall call)
    {
        var maps = ScaledDotProduct.Probabilities(q, k, scale, call.Mask);
        var pairs = maps.view(maps.shape[0], NumHeads, 2, maps.shape[2], maps.shape[3]);
        var (first, second) = (pairs.select(2, 0), pairs.select(2, 1));
        var differential = first - lambda.unsqueeze(-1) * second;
        call.MapSink?.Invoke(new AttentionMaps(AttentionKind.DifferentialV2, differential, first, second, lambda));
        // Pair i shares kv head i / (heads / kvHeads), which is how Apply groups `heads` maps.
        return ScaledDotProduct.Apply(differential, v);
    }
}
