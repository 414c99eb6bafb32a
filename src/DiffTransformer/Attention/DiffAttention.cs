using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Differential attention V1 (Ye et al., 2024), as the official <c>MultiheadDiffAttn</c> / <c>MultiheadFlashDiff1</c>.
/// Each of the <c>numHeads</c> heads computes two softmax maps from query/key sub-heads of size
/// <c>headDim = embedDim / numHeads / 2</c> and attends with <c>A1 - lambda * A2</c> over values of size <c>2 * headDim</c>,
/// where <c>lambda = exp(lambda_q1 . lambda_k1) - exp(lambda_q2 . lambda_k2) + lambdaInit(depth)</c>. The result is
/// normalised per head (RMSNorm over <c>2 * headDim</c>) and scaled by <c>1 - lambdaInit</c>.
/// State-dict keys: <c>q_proj.weight k_proj.weight v_proj.weight out_proj.weight lambda_q1 lambda_k1 lambda_q2 lambda_k2
/// subln.weight</c>.
/// </summary>
public sealed class DiffAttention : CausalSelfAttention
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Projection q_proj, k_proj, v_proj, out_proj;
    private readonly Parameter lambda_q1, lambda_k1, lambda_q2, lambda_k2;
    private readonly RmsNorm subln;
#pragma warning restore IDE1006
    private readonly int headDim;

    /// <summary>Creates the module.</summary>
    /// <param name="embedDim">Model width; without <paramref name="headDim"/>, divisible by <c>2 * numHeads</c> into an even <c>headDim</c>.</param>
    /// <param name="depth">0-based layer index; sets <c>lambdaInit = 0.8 - 0.6 * exp(-0.3 * depth)</c>.</param>
    /// <param name="numHeads">Differential heads: half the heads of the parameter-matched softmax baseline.</param>
    /// <param name="numKvHeads">Key/value heads (default <paramref name="numHeads"/>); must divide <paramref name="numHeads"/>.</param>
    /// <param name="kernel">Naive or fused attention kernel.</param>
    /// <param name="ropeTheta">Rotary base.</param>
    /// <param name="headDim">Query/key sub-head size (even); null: <c>embedDim / numHeads / 2</c>.</param>
    /// <param name="bias">Biases on the four projections (DiffLlama's <c>attention_bias</c>).</param>
    /// <param name="headNormEps">Epsilon of the per-head RMSNorm (<c>subln</c>): 1e-5 as the official code; DiffLlama uses its <c>rms_norm_eps</c>.</param>
    /// <param name="ropeScaling">Scaling of the rotary frequencies; null for none.</param>
    public DiffAttention(int embedDim, int depth, int numHeads, int? numKvHeads = null,
        AttentionKernel kernel = AttentionKernel.Auto, double ropeTheta = 10000, int? headDim = null, bool bias = false,
        double headNormEps = 1e-5, RopeScaling? ropeScaling = null)
        : base(nameof(DiffAttention), embedDim, numHeads, numKvHeads, kernel, ropeTheta, ropeScaling, bias)
    {
        Guard.NonNegative(depth, nameof(depth));
        this.headDim = CheckShape(embedDim, numHeads, numKvHeads, headDim, SubHeads, kernel, ropeTheta, ropeScaling, AttentionArgumentNames.Constructor);
        Depth = depth;
        LambdaInit = LambdaInitFor(depth);
        int d = this.headDim;
        int kvWidth = 2 * NumKvHeads * d;
        q_proj = NewProjection(embedDim, 2 * numHeads * d);
        k_proj = NewProjection(embedDim, kvWidth);
        v_proj = NewProjection(embedDim, kvWidth);
        out_proj = NewProjection(2 * numHeads * d, embedDim);
        lambda_q1 = LambdaVector(d);
        lambda_k1 = LambdaVector(d);
        lambda_q2 = LambdaVector(d);
        lambda_k2 = LambdaVector(d);
        subln = new RmsNorm(2 * d, eps: headNormEps);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>Query/key sub-heads per differential head (one per softmax map).</summary>
    internal const int SubHeads = 2;

    /// <summary>Query/key sub-head size; values and outputs use <c>2 * HeadDim</c> per head.</summary>
    public override int HeadDim => headDim;

    /// <inheritdoc />
    public override AttentionKind Kind => AttentionKind.Differential;

    /// <summary>The 0-based layer index this module was built for.</summary>
    public int Depth { get; }

    /// <summary><c>0.8 - 0.6 * exp(-0.3 * Depth)</c>.</summary>
    public double LambdaInit { get; }

    /// <summary>The official initial lambda for a 0-based layer index: <c>0.8 - 0.6 * exp(-0.3 * depth)</c>.</summary>
    public static double LambdaInitFor(int depth) => 0.8 - 0.6 * Math.Exp(-0.3 * depth);

    /// <summary>
    /// The current lambda as a 0-dimensional tensor in <paramref name="dtype"/>, computed in at least float32
    /// (float64 stays float64).
    /// </summary>
    public Tensor Lambda(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var wide = lambda_q1.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var first = (lambda_q1.to(wide) * lambda_k1.to(wide)).sum().exp();
        var second = (lambda_q2.to(wide) * lambda_k2.to(wide)).sum().exp();
        return (first - second).Plus(LambdaInit).to(dtype).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    private protected override (int Heads, int MapsPerHead) NaiveMaps => (NumHeads, 4); // A1, A2 being made (3), then A1, A2, lambda*A2, difference

    private protected override Tensor Attend(Tensor x, AttentionCall call)
    {
        long batch = x.shape[0], time = x.shape[1];
        int heads = NumHeads, d = headDim;
        // q: 2*heads sub-heads of d; sub-heads 2h and 2h+1 give the two maps of head h.
        var q = call.Rotate(q_proj.call(x).view(batch, time, 2 * heads, d));
        // k is rotated as 2*kvHeads sub-heads of d, then kept as kvHeads heads of 2d = [k1 | k2].
        var k = call.Rotate(k_proj.call(x).view(batch, time, 2 * NumKvHeads, d))
            .view(batch, time, NumKvHeads, 2 * d).transpose(1, 2);
        var v = v_proj.call(x).view(batch, time, NumKvHeads, 2 * d).transpose(1, 2);
        (k, v) = call.Remember(k, v);
        var lambda = call.WeightsOnly(() => Lambda(x.dtype)); // per cached sequence when decoding, not per step
        double scale = 1.0 / Math.Sqrt(d);

        var attended = call.Path switch
        {
            KernelPath.Fused => AttendFused(q, k, v, lambda, call),
            KernelPath.FusedAfterCache => AttendFusedAfterCache(q, k, v, lambda, call),
            _ => AttendNaive(q, k, v, lambda, scale, call),
        };
        var normalised = subln.NormalizeAndScale(attended, scale: 1 - LambdaInit);
        return out_proj.call(normalised.transpose(1, 2).reshape(batch, time, 2 * heads * d));
    }

    /// <summary>
    /// Two SDPA calls, one per map, each with query heads of size 2d. The queries are <c>[q1 | q2]</c> as they come
    /// (no copy); map j's keys hold <c>k_j</c> in half j and zeros in the other (<see cref="Placement"/>), so the score is
    /// exactly <c>q_j . k_j</c>, times the <c>sqrt(2)</c> of <see cref="FusedScale"/>. Query, key and value heads then
    /// share one size (2d), which keeps LibTorch's CPU SDPA on its flash path (it leaves it when the value head size
    /// differs). With grouped kv heads the values are repeated to the query heads once, for both calls. The zero halves
    /// make the score products cost twice their useful arithmetic: see docs/benchmarks.md.
    /// </summary>
    private Tensor AttendFused(Tensor q, Tensor k, Tensor v, Tensor lambda, AttentionCall call)
    {
        long batch = q.shape[0], time = q.shape[1], keyTime = k.shape[2];
        int heads = NumHeads, d = headDim;
        var queries = q.view(batch, time, heads, 2 * d).transpose(1, 2);
        var keys = (k.view(batch, NumKvHeads, 1, keyTime, 2, d) * Placement(k).view(1, 1, 2, 1, 2, 1))
            .view(batch, NumKvHeads, 2, keyTime, 2 * d);
        var values = ScaledDotProduct.RepeatKv(v, heads); // once for both calls; Fused's own RepeatKv is then a no-op
        var first = ScaledDotProduct.Fused(queries, keys.select(2, 0), values, FusedScale, call.Mask);
        var second = ScaledDotProduct.Fused(queries, keys.select(2, 1), values, FusedScale, call.Mask);
        return addcmul(first, second, lambda, ScalarMath.MinusOne); // first - lambda * second, in one pass
    }

    /// <summary>
    /// Fused attention for queries that continue a KV cache (decoding). They are few, so the <see cref="Placement"/> goes
    /// on them instead of on the keys: map j of head h is <c>q_j</c> in half j of a zero vector, scored against the
    /// cached <c>[k1 | k2]</c> as it is, in one SDPA call whose grouped heads read the cache in place (placing the keys
    /// would copy the whole cache on every step).
    /// </summary>
    private Tensor AttendFusedAfterCache(Tensor q, Tensor k, Tensor v, Tensor lambda, AttentionCall call)
    {
        long batch = q.shape[0], time = q.shape[1];
        int heads = NumHeads, d = headDim;
        var placed = (q.view(batch, time, heads, 2, 1, d) * Placement(q).view(2, 2, 1))
            .reshape(batch, time, 2 * heads, 2 * d).transpose(1, 2);
        var both = ScaledDotProduct.FusedAfterCache(placed, k, v, FusedScale, call.Mask).reshape(batch, heads, 2, time, 2 * d);
        return addcmul(both.select(2, 0), both.select(2, 1), lambda, ScalarMath.MinusOne);
    }

    /// <summary>
    /// <c>sqrt(2) * I</c> (2x2) in the dtype and on the device of <paramref name="like"/>: entry <c>(j, j)</c> puts sub-head
    /// j into half j of a 2d head, zeros into the other half. Both fused paths place with it, so both carry the factor
    /// <c>sqrt(2)</c> that turns <see cref="FusedScale"/> into the paper's <c>1/sqrt(d)</c>.
    /// </summary>
    private static Tensor Placement(Tensor like) => eye(2, dtype: like.dtype, device: like.device).Times(Math.Sqrt(2));

    /// <summary>
    /// The scale the fused paths pass to SDPA for their 2d heads: <c>1/sqrt(2d)</c>, SDPA's own default, so that it
    /// takes no extra pass to rescale the queries.
    /// </summary>
    private double FusedScale => 1.0 / Math.Sqrt(2 * headDim);

    /// <summary>The formula as written: two explicit softmax maps, their difference, times the values.</summary>
    private Tensor AttendNaive(Tensor q, Tensor k, Tensor v, Tensor lambda, double scale, AttentionCall call)
    {
        long batch = q.shape[0], time = q.shape[1];
        int d = headDim;
        var pairs = q.view(batch, time, NumHeads, 2, d).transpose(1, 2);
        var first = ScaledDotProduct.Probabilities(pairs.select(3, 0), k.narrow(-1, 0, d), scale, call.Mask);
        var second = ScaledDotProduct.Probabilities(pairs.select(3, 1), k.narrow(-1, d, d), scale, call.Mask);
        var differential = first - lambda * second;
        call.MapSink?.Invoke(new AttentionMaps(AttentionKind.Differential, differential, first, second, lambda));
        return ScaledDotProduct.Apply(differential, v);
    }

    private static Parameter LambdaVector(int size) => new(empty(size).normal_(0, 0.1));
}
