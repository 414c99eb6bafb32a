using System.Diagnostics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Where a training call of the fused V1 layer and of its parameter-matched softmax layer goes: each LibTorch op of
/// the two fused paths (as DiffAttention and SoftmaxAttention run them, written out here with the same shapes, layouts
/// and calls) timed alone, forward and backward, beside the whole layers. TorchSharp has no profiler; an op timed alone
/// on inputs of its real shape is the per-op time the issue asks for, and the sum against the whole layer says what
/// the graph itself costs.
/// </summary>
public static class ProfileSection
{
    /// <summary>One op: its name, how many times a layer call runs it, its inputs and the function of them.</summary>
    sealed record Op(string Name, int Count, Func<Tensor[]> Inputs, Func<Tensor[], Tensor> Run);

    const int Embed = LayerVariants.EmbedDim, D = LayerVariants.HeadDim;

    public static string Run(ReportOptions options, Action<string> log)
    {
        long time = options.ProfileTime;
        int rounds = options.Rounds ?? (options.Full ? 9 : 5);
        var v1 = V1Ops(time);
        var softmax = SoftmaxOps(time);
        manual_seed(3);
        using var v1Layer = LayerVariants.Create(LayerVariant.DiffV1, AttentionKernel.Fused);
        using var softmaxLayer = LayerVariants.Create(LayerVariant.Softmax, AttentionKernel.Fused);
        var x = randn(1, time, Embed);
        var forward = new Dictionary<string, List<double>>();
        var backward = new Dictionary<string, List<double>>();
        void Add(Dictionary<string, List<double>> into, string key, double ms)
        {
            if (!into.TryGetValue(key, out var list)) into[key] = list = new List<double>();
            list.Add(ms);
        }
        for (int round = -1; round < rounds; round++) // round -1 warms up
        {
            foreach (var (layer, ops) in new[] { ("V1", v1), ("softmax", softmax) })
                foreach (var op in ops)
                {
                    var (f, b) = TimeOp(op);
                    if (round < 0) continue;
                    Add(forward, $"{layer}/{op.Name}", f);
                    Add(backward, $"{layer}/{op.Name}", b);
                }
            foreach (var (layer, module) in new[] { ("V1", v1Layer), ("softmax", softmaxLayer) })
            {
                module.zero_grad();
                var (f, b) = TimeOp(new Op("layer", 1, () => [x.clone()], a => module.call(a[0])));
                if (round < 0) continue;
                Add(forward, $"{layer}/layer", f);
                Add(backward, $"{layer}/layer", b);
            }
            if (round >= 0) log($"profile: round {round + 1}/{rounds}");
        }

        double Med(Dictionary<string, List<double>> d, string key) => Timings.MedianOf(d[key]);
        double Total(string layer, Op op) => op.Count * (Med(forward, $"{layer}/{op.Name}") + Med(backward, $"{layer}/{op.Name}"));
        var text = new StringBuilder();
        text.AppendLine($"Each op of the two fused training paths at T={time} (batch 1, float32, embed {Embed}), timed alone on inputs of its " +
                        $"real shape and layout (median of {rounds} interleaved rounds; forward, then the backward of its output alone). " +
                        "× n: the op runs n times per layer call; its times are per run, the total counts all.");
        text.AppendLine();
        foreach (var (layer, ops, describe) in new[] { ("V1", v1, LayerVariants.Describe(LayerVariant.DiffV1)), ("softmax", softmax, LayerVariants.Describe(LayerVariant.Softmax)) })
        {
            text.AppendLine($"{describe}:");
            text.AppendLine();
            text.AppendLine("| op | forward ms | backward ms | total ms (× n) | share of the ops |");
            text.AppendLine("|---|---:|---:|---:|---:|");
            double sum = ops.Sum(op => Total(layer, op));
            foreach (var op in ops)
                text.AppendLine($"| {op.Name}{(op.Count > 1 ? $" × {op.Count}" : "")} | {Med(forward, $"{layer}/{op.Name}"):F2} | {Med(backward, $"{layer}/{op.Name}"):F2} | {Total(layer, op):F2} | {100 * Total(layer, op) / sum:F0}% |");
            double whole = Med(forward, $"{layer}/layer") + Med(backward, $"{layer}/layer");
            text.AppendLine($"| **sum of the ops** | | | **{sum:F2}** | |");
            text.AppendLine($"| **the layer itself** (module call and backward) | {Med(forward, $"{layer}/layer"):F2} | {Med(backward, $"{layer}/layer"):F2} | **{whole:F2}** | |");
            text.AppendLine();
        }
        double v1Sdpa = v1.Where(o => o.Name.StartsWith("SDPA")).Sum(o => Total("V1", o));
        double softmaxSdpa = softmax.Where(o => o.Name.StartsWith("SDPA")).Sum(o => Total("softmax", o));
        double v1Ops = v1.Sum(o => Total("V1", o)), softmaxOps = softmax.Sum(o => Total("softmax", o));
        double v1Layer_ = Med(forward, "V1/layer") + Med(backward, "V1/layer");
        double softmaxLayer_ = Med(forward, "softmax/layer") + Med(backward, "softmax/layer");
        text.AppendLine($"V1 / softmax: layers {v1Layer_ / softmaxLayer_:F2}x; sums of the ops {v1Ops / softmaxOps:F2}x; the SDPA calls alone " +
                        $"{v1Sdpa / softmaxSdpa:F2}x ({v1Sdpa:F1} against {softmaxSdpa:F1} ms); everything but SDPA {(v1Ops - v1Sdpa) / (softmaxOps - softmaxSdpa):F2}x " +
                        $"({v1Ops - v1Sdpa:F1} against {softmaxOps - softmaxSdpa:F1} ms). With V1's other ops as cheap as softmax's, the layer would be " +
                        $"{(softmaxOps - softmaxSdpa + v1Sdpa) / softmaxOps:F2}x.");
        return text.ToString();
    }

    /// <summary>The ops of DiffAttention's fused training path (4 heads, sub-heads of 64, values of 128, 4 KV heads).</summary>
    static Op[] V1Ops(long t)
    {
        const int heads = 4;
        return
        [
            new("q/k/v projection (linear 512 -> 512)", 3, () => [randn(1, t, Embed), randn(Embed, Embed) * 0.04], a => nn.functional.linear(a[0], a[1])),
            new("rotary (q and k, 8 sub-heads of 64)", 2, () => [randn(1, t, 2 * heads, D), randn(t, D), randn(t, D)], a => Rotate(a[0], a[1], a[2])),
            new("placement of k1, k2 (zero halves)", 1, () => [randn(1, t, heads, 2 * D).transpose(1, 2)],
                a => (a[0].view(1, heads, 1, t, 2, D) * eye(2).mul(Math.Sqrt(2)).view(1, 1, 2, 1, 2, 1)).view(1, heads, 2, t, 2 * D)),
            new("SDPA (4 heads of 128, causal)", 2, () => [randn(1, t, heads, 2 * D).transpose(1, 2), randn(new long[] { 1, heads, 2, t, 2 * D }).select(2, 0), randn(1, t, heads, 2 * D).transpose(1, 2)],
                a => nn.functional.scaled_dot_product_attention(a[0], a[1], a[2], is_casual: true)),
            new("addcmul (A1 V - lambda A2 V)", 1, () => [randn(1, heads, t, 2 * D), randn(1, heads, t, 2 * D), tensor(0.5f)],
                a => addcmul(a[0], a[1], a[2], value: -1.0)),
            new("head norm (RMSNorm of 128, times 1 - lambda_init)", 1, () => [randn(1, heads, t, 2 * D), ones(2 * D)],
                a => a[0] * rsqrt(a[0].pow(2).mean([-1L], keepdim: true).add(1e-5)) * a[1].mul(0.6)),
            new("heads to rows (transpose, reshape)", 1, () => [randn(1, heads, t, 2 * D)], a => a[0].transpose(1, 2).reshape(1, t, Embed)),
            new("out projection (linear 512 -> 512)", 1, () => [randn(1, t, Embed), randn(Embed, Embed) * 0.04], a => nn.functional.linear(a[0], a[1])),
        ];
    }

    /// <summary>The ops of SoftmaxAttention's fused training path (8 heads of 64, 8 KV heads).</summary>
    static Op[] SoftmaxOps(long t)
    {
        const int heads = 8;
        return
        [
            new("q/k/v projection (linear 512 -> 512)", 3, () => [randn(1, t, Embed), randn(Embed, Embed) * 0.04], a => nn.functional.linear(a[0], a[1])),
            new("rotary (q and k, 8 heads of 64)", 2, () => [randn(1, t, heads, D), randn(t, D), randn(t, D)], a => Rotate(a[0], a[1], a[2])),
            new("SDPA (8 heads of 64, causal)", 1, () => [randn(1, t, heads, D).transpose(1, 2), randn(1, t, heads, D).transpose(1, 2), randn(1, t, heads, D).transpose(1, 2)],
                a => nn.functional.scaled_dot_product_attention(a[0], a[1], a[2], is_casual: true)),
            new("heads to rows (transpose, reshape)", 1, () => [randn(1, heads, t, D)], a => a[0].transpose(1, 2).reshape(1, t, Embed)),
            new("out projection (linear 512 -> 512)", 1, () => [randn(1, t, Embed), randn(Embed, Embed) * 0.04], a => nn.functional.linear(a[0], a[1])),
        ];
    }

    /// <summary>The library's rotary embedding, op for op: <c>x * cos + swap(x) * sin</c>, tables broadcast over heads.</summary>
    static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        long[] shape = x.shape;
        var swapped = x.view(shape[0], shape[1], shape[2], shape[3] / 2, 2).flip(-1).view(shape);
        return (x * cos.unsqueeze(-2)).add(swapped * sin.unsqueeze(-2));
    }

    /// <summary>
    /// Forward and backward milliseconds of one op on fresh leaves (every input records gradients, as in training; a
    /// whole layer's parameters too).
    /// </summary>
    static (double Forward, double Backward) TimeOp(Op op)
    {
        using var scope = NewDisposeScope();
        Tensor[] leaves;
        using (no_grad()) leaves = op.Inputs().Select(input => input.requires_grad_(true)).ToArray();
        var watch = Stopwatch.StartNew();
        var output = op.Run(leaves);
        double forward = watch.Elapsed.TotalMilliseconds;
        var gradient = randn_like(output);
        watch.Restart();
        output.backward(new[] { gradient });
        return (forward, watch.Elapsed.TotalMilliseconds);
    }
}
