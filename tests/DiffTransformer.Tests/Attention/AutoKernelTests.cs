using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// <see cref="AttentionKernel.Auto"/> routes each call by its <see cref="AutoKernelRule"/>, and every route computes the
/// function the other kernels compute, on both sides of the length threshold and of the memory budget.
/// </summary>
public class AutoKernelTests
{
    public static TheoryData<AttentionKind> Kinds() => new(Build.Kinds);

    static readonly AutoKernelRule ShortRule = new() { MaxNaiveTrainingLength = 8 };

    public static TheoryData<bool, long, long, long, string> Routes() => new()
    {
        // gradients, time, cached, budget bytes -> path
        { true, 8, 0, 1L << 30, nameof(KernelPath.Naive) },            // short training call
        { true, 9, 0, 1L << 30, nameof(KernelPath.Fused) },            // one position past the threshold
        { false, 8, 0, 1L << 30, nameof(KernelPath.Fused) },           // inference
        { true, 8, 0, 1, nameof(KernelPath.Fused) },                   // maps over the budget
        { true, 1, 4, 1L << 30, nameof(KernelPath.FusedAfterCache) },  // continuing a cache
        { false, 1, 4, 1L << 30, nameof(KernelPath.FusedAfterCache) },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void RoutesByTheRule(bool gradients, long time, long cached, long budget, string expected)
    {
        using var scope = NewDisposeScope();
        using var mode = gradients ? enable_grad() : no_grad();
        var module = Build.Attention(AttentionKind.Softmax, kernel: AttentionKernel.Auto);
        module.AutoRule = ShortRule with { NaiveMemoryBudgetBytes = budget };
        var x = Build.Input(2, time, 32);
        var inputs = new AttentionInputs(x, cached, null, null, module.Rotary);
        var call = new AttentionCall(inputs, null, null, module.KernelFor(2, time, cached, is_grad_enabled(), x.dtype));
        Assert.Equal(expected, call.Path.ToString());
    }

    [Fact]
    public void KernelForReturnsAFixedKernelAsItIsAndRefusesEmptyCalls()
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(AttentionKind.Differential, kernel: AttentionKernel.Naive);
        Assert.Equal(AttentionKernel.Naive, module.KernelFor(1, 4096, 0, recordsGradients: false));
        module.Kernel = AttentionKernel.Fused;
        Assert.Equal(AttentionKernel.Fused, module.KernelFor(1, 8, 0, recordsGradients: true));
        module.Kernel = AttentionKernel.Auto;
        Assert.Equal(AttentionKernel.Naive, module.KernelFor(1, 512, 0, recordsGradients: true)); // V1's default threshold
        Assert.Equal(AttentionKernel.Fused, module.KernelFor(1, 513, 0, recordsGradients: true));
        Rejection.Rejects(() => module.KernelFor(0, 8, 0, true), "batch", "0");
        Rejection.Rejects(() => module.KernelFor(1, 0, 0, true), "time", "0");
        Rejection.Rejects(() => module.KernelFor(1, 8, -1, true), "cached", "-1");
    }

    [Theory]
    [InlineData(-1L, 0L, "MaxNaiveTrainingLength")]
    [InlineData(0L, -1L, "NaiveMemoryBudgetBytes")]
    public void ANegativeRuleIsRefusedAndTheOldOneKept(long length, long budget, string field)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(AttentionKind.Differential);
        var before = module.AutoRule;
        var error = Assert.Throws<ArgumentException>(() =>
            module.AutoRule = new AutoKernelRule { MaxNaiveTrainingLength = length, NaiveMemoryBudgetBytes = budget });
        Assert.Equal("AutoRule", error.ParamName);
        Assert.Contains(field, error.Message);
        Assert.Same(before, module.AutoRule);
        Assert.Equal(512, before.MaxNaiveTrainingLength); // V1's measured default
    }

    [Fact]
    public void TheBudgetIsComparedWithTheMapBytes()
    {
        // batch 2, 2 heads, 8 x 8 maps, 3 maps per head, float64 elements: 2 * 2 * 64 * 3 * 8 bytes.
        long bytes = AutoKernelRule.NaiveMapBytes(2, 2, 8, 8, 3, ScalarType.Float64);
        Assert.Equal(2L * 2 * 64 * 3 * 8, bytes);
        Assert.Equal(2L * 2 * 64 * 4 * 4, AutoKernelRule.NaiveMapBytes(2, 2, 8, 8, 3, ScalarType.BFloat16)); // one map more, float32
        using var scope = NewDisposeScope();
        var module = Build.Attention(AttentionKind.Softmax, kernel: AttentionKernel.Auto);
        module.AutoRule = ShortRule with { NaiveMemoryBudgetBytes = bytes };
        Assert.Equal(AttentionKernel.Naive, module.KernelFor(2, 8, 0, true, ScalarType.Float64));
        module.AutoRule = ShortRule with { NaiveMemoryBudgetBytes = bytes - 1 };
        Assert.Equal(AttentionKernel.Fused, module.KernelFor(2, 8, 0, true, ScalarType.Float64));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AutoMatchesNaiveAndFusedOnBothSidesOfTheThreshold(AttentionKind kind)
    {
        foreach (long time in new long[] { 8, 9 })
        foreach (int? kvHeads in new int?[] { null, 1 })
        {
            using var scope = NewDisposeScope();
            var module = Build.Attention(kind, 32, 2, kvHeads);
            module.AutoRule = ShortRule;
            var x = Build.Input(2, time, 32);
            var weight = randn(2, time, 32, dtype: ScalarType.Float64);
            var mask = ones(2, time, dtype: ScalarType.Bool);
            mask[1, 0] = tensor(false); // a left-padded row
            var context = new AttentionContext { KeyMask = mask };

            (Tensor Y, Tensor Gx, Dictionary<string, Tensor> Grads) Run(AttentionKernel kernel)
            {
                module.Kernel = kernel;
                module.zero_grad();
                var input = x.clone().requires_grad_(true);
                var y = module.forward(input, context);
                (y * weight).sum().backward();
                return (y.detach(), input.grad!.clone(), module.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
            }

            var auto = Run(AttentionKernel.Auto);
            var naive = Run(AttentionKernel.Naive);
            var fused = Run(AttentionKernel.Fused);
            // The call really ran the kernel KernelFor names (training: naive up to the threshold): bit for bit its output.
            module.Kernel = AttentionKernel.Auto;
            var routed = module.KernelFor(2, time, 0, recordsGradients: true, x.dtype) == AttentionKernel.Naive ? naive : fused;
            Assert.Equal(time <= ShortRule.MaxNaiveTrainingLength, ReferenceEquals(routed.Y, naive.Y));
            Assert.True(auto.Y.eq(routed.Y).all().item<bool>(), $"{kind}, time {time}: Auto's output is not the routed kernel's, bit for bit");
            foreach (var other in new[] { naive, fused })
            {
                string what = $"{kind}, time {time}, kv heads {kvHeads}";
                Compare.Close(auto.Y, other.Y, 1e-12, $"{what}: output");
                Compare.Close(auto.Gx, other.Gx, 1e-11, $"{what}: grad.x");
                foreach (var (name, grad) in other.Grads) Compare.Close(auto.Grads[name], grad, 1e-10, $"{what}: grad.{name}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CachedDecodingOfAPaddedBatchMatchesEveryKernel(AttentionKind kind)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var model = new DiffTransformerLM(Build.TinyConfig(kind) with { NumKvHeads = 1 });
        model.to(ScalarType.Float64);
        var prompt = tensor(new long[,] { { 0, 0, 3, 4, 5 }, { 1, 2, 3, 4, 5 } });
        var padding = tensor(new[,] { { false, false, true, true, true }, { true, true, true, true, true } });
        var steps = tensor(new long[,] { { 6 }, { 7 } });

        List<Tensor> Decode(AttentionKernel kernel)
        {
            foreach (var block in model.Blocks) block.Attention.Kernel = kernel;
            var cache = model.CreateCache(2); // grows while decoding: the mask buffer and the layers' buffers
            var logits = new List<Tensor> { model.forward(prompt, cache, padding) };
            for (int i = 0; i < 6; i++) logits.Add(model.forward(steps, cache));
            cache.Dispose();
            return logits;
        }

        var auto = Decode(AttentionKernel.Auto);
        foreach (var kernel in new[] { AttentionKernel.Naive, AttentionKernel.Fused })
        {
            var other = Decode(kernel);
            for (int i = 0; i < auto.Count; i++) Compare.Close(auto[i], other[i], 1e-12, $"{kind} {kernel}, call {i}");
        }
        // The padded row decodes as it would alone.
        foreach (var block in model.Blocks) block.Attention.Kernel = AttentionKernel.Auto;
        var alone = model.CreateCache();
        var first = model.forward(prompt[1..2, 2..], alone);
        Compare.Close(auto[0][0, 2..], first[0], 1e-12, $"{kind}: padded prompt");
        for (int i = 1; i < 4; i++)
            Compare.Close(auto[i][0], model.forward(steps[0..1], alone)[0], 1e-12, $"{kind}: padded row, step {i}");
        alone.Dispose();
    }
}
