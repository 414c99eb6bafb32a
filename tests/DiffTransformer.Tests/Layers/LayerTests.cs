using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

public class LayerTests
{
    [Fact]
    public void RmsNormFollowsItsFormula()
    {
        using var scope = NewDisposeScope();
        var norm = new RmsNorm(8, eps: 1e-5);
        norm.to(ScalarType.Float64);
        using (no_grad()) norm.get_parameter("weight")!.copy_(arange(1, 9, dtype: ScalarType.Float64));
        var x = Build.Input(2, 3, 8);
        var expected = x / (x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt() * arange(1, 9, dtype: ScalarType.Float64);
        Compare.Close(norm.call(x), expected, 1e-15, "rmsnorm");
        Assert.Throws<ArgumentException>(() => norm.call(zeros(2, 7)));
    }

    [Fact]
    public void RmsNormComputesHalfPrecisionInFloat32()
    {
        using var scope = NewDisposeScope();
        var norm = new RmsNorm(4);
        norm.to(ScalarType.BFloat16);
        // Squares of 300 overflow nothing in float32, but bf16's 8-bit mantissa would make the mean inexact.
        var x = full(new long[] { 1, 4 }, 300.0, ScalarType.BFloat16);
        var y = norm.call(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(1.0, y.to(ScalarType.Float32).mean().item<float>(), 2);
    }

    [Fact]
    public void SwiGluFollowsItsFormula()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var ffn = new SwiGlu(8, 12);
        ffn.to(ScalarType.Float64);
        var x = Build.Input(2, 3, 8);
        var p = ffn.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        var expected = nn.functional.linear(
            nn.functional.silu(nn.functional.linear(x, p["gate_proj.weight"])) * nn.functional.linear(x, p["up_proj.weight"]),
            p["down_proj.weight"]);
        Compare.Close(ffn.call(x), expected, 1e-15, "swiglu");
        Assert.Equal(new[] { "down_proj.weight", "gate_proj.weight", "up_proj.weight" }, p.Keys.Order());
    }

    [Fact]
    public void BlockIsPreNormResidual()
    {
        using var scope = NewDisposeScope();
        var attention = Build.Attention(AttentionKind.Differential);
        var block = new DiffTransformerBlock(attention, ffnHiddenDim: 48);
        block.to(ScalarType.Float64);
        var x = Build.Input(1, 4, 32);
        var norms = block.named_children().ToDictionary(c => c.name, c => c.module);
        var h = x + attention.call(((RmsNorm)norms["attn_norm"]).call(x));
        var expected = h + block.FeedForward.call(((RmsNorm)norms["ffn_norm"]).call(h));
        Compare.Close(block.call(x), expected, 1e-15, "block");
        Assert.Same(attention, block.Attention);
    }
}
