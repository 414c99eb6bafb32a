using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>The naive and fused kernels compute the same function, forward and backward.</summary>
public class KernelEquivalenceTests
{
    public static TheoryData<AttentionKind, int, int, int?, long, long> Shapes()
    {
        var data = new TheoryData<AttentionKind, int, int, int?, long, long>();
        foreach (var kind in Build.Kinds)
        {
            int heads = kind == AttentionKind.Softmax ? 4 : 2;
            data.Add(kind, 32, heads, null, 1, 1);       // a single token
            data.Add(kind, 32, heads, null, 2, 7);       // odd length, batch > 1
            data.Add(kind, 64, 4, 2, 3, 11);             // grouped KV heads
            data.Add(kind, 64, 4, 1, 1, 16);             // one KV head for all
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NaiveEqualsFused(AttentionKind kind, int embed, int heads, int? kvHeads, long batch, long time)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(kind, embed, heads, kvHeads);
        var x = Build.Input(batch, time, embed);
        var weight = randn(batch, time, embed, dtype: ScalarType.Float64);

        (Tensor y, Tensor gx, Dictionary<string, Tensor> grads) Run(AttentionKernel kernel)
        {
            module.Kernel = kernel;
            module.zero_grad();
            var input = x.clone().requires_grad_(true);
            var y = module.call(input);
            (y * weight).sum().backward();
            return (y.detach(), input.grad!.clone(), module.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }

        var naive = Run(AttentionKernel.Naive);
        var fused = Run(AttentionKernel.Fused);
        Compare.Close(fused.y, naive.y, 1e-12, "output");
        Compare.Close(fused.gx, naive.gx, 1e-11, "grad.x");
        foreach (var (name, grad) in naive.grads) Compare.Close(fused.grads[name], grad, 1e-10, "grad." + name);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AutoUsesAKernelThatMatchesNaive(AttentionKind kind, int embed, int heads, int? kvHeads, long batch, long time)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(kind, embed, heads, kvHeads, AttentionKernel.Auto);
        var x = Build.Input(batch, time, embed);
        var auto = module.call(x);
        module.Kernel = AttentionKernel.Naive;
        Compare.Close(auto, module.call(x), 1e-12, "auto vs naive");
    }
}
