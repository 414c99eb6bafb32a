using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// <see cref="Projection"/> is nn.Linear with a faster decoding call: the same initial values, and SmallBatchLinear
/// computing F.linear wherever it is taken, leaving every other call to F.linear.
/// </summary>
public class ProjectionTests
{
    [Theory]
    [InlineData(8, 12, false)]
    [InlineData(769, 1030, true)]
    public void InitialValuesAreNnLinears(int inputs, int outputs, bool bias)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var linear = nn.Linear(inputs, outputs, hasBias: bias);
        manual_seed(11);
        using var projection = new Projection(inputs, outputs, bias);
        Assert.Equal(linear.weight.data<float>().ToArray(), projection.get_parameter("weight")!.data<float>().ToArray());
        if (bias) Assert.Equal(linear.bias!.data<float>().ToArray(), projection.get_parameter("bias")!.data<float>().ToArray());
        else Assert.Null(projection.get_parameter("bias"));
        Assert.Equal(bias ? new[] { "weight", "bias" } : new[] { "weight" }, projection.state_dict().Keys.ToArray());
    }

    // Row lengths with and without a vector remainder (the kernel steps 4 vectors, then 1, then scalars), 1 to 4 rows, with and without a bias.
    [Theory]
    [InlineData(new long[] { 1, 1 }, 13, 7, false)]
    [InlineData(new long[] { 1 }, 64, 64, true)]
    [InlineData(new long[] { 3 }, 769, 1030, true)]
    [InlineData(new long[] { 4 }, 77, 5, false)]
    [InlineData(new long[] { 2, 2 }, 768, 2051, false)]
    [InlineData(new long[] { 3, 1 }, 1, 3, true)]
    public void SmallBatchLinearComputesFLinear(long[] leading, long inputs, long outputs, bool bias)
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        manual_seed(3);
        var x = randn(leading.Append(inputs).ToArray());
        var weight = randn(outputs, inputs);
        var b = bias ? randn(outputs) : null;
        Assert.True(SmallBatchLinear.Applies(x, weight, b));
        var expected = nn.functional.linear(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), b?.to(ScalarType.Float64));
        var actual = Projection.Apply(x, weight, b);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        // float32 sums of `inputs` products: a few units of the last place of the largest output.
        Compare.Close(actual, expected, 1e-6, $"small-batch linear {string.Join("x", leading)}x{inputs} -> {outputs}");
        Compare.Close(actual, nn.functional.linear(x, weight, b), 1e-6, "against LibTorch's float32");
    }

    [Fact]
    public void ANonContiguousInputIsReadInItsLogicalOrder()
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        manual_seed(5);
        var x = randn(40, 2).t(); // [2, 40], strides (1, 2)
        var weight = randn(9, 40);
        Assert.False(x.is_contiguous());
        Assert.True(SmallBatchLinear.Applies(x, weight, null));
        Compare.Close(Projection.Apply(x, weight), nn.functional.linear(x, weight), 1e-6, "transposed input");
    }

    [Fact]
    public void AWeightThatStartsInsideItsStorageIsReadFromItsOwnFirstElement()
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        manual_seed(8);
        var storage = randn(20, 10);
        var weight = storage.narrow(0, 5, 6); // contiguous rows 5..10: storage offset 50
        var bias = randn(9).narrow(0, 2, 6);
        var x = randn(2, 10);
        Assert.True(weight.is_contiguous());
        Assert.Equal(50, weight.storage_offset());
        Assert.True(SmallBatchLinear.Applies(x, weight, bias));
        Compare.Close(Projection.Apply(x, weight, bias), nn.functional.linear(x, weight, bias), 1e-6, "offset weight and bias");
    }

    [Fact]
    public void CallsItDoesNotCoverGoToFLinear()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var weight = randn(6, 10);
        var x = randn(1, 10);
        Assert.False(SmallBatchLinear.Applies(randn(SmallBatchLinear.MaxRows + 1, 10), weight, null)); // more rows than it is faster for
        Assert.False(SmallBatchLinear.Applies(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), null));
        Assert.False(SmallBatchLinear.Applies(x, randn(10, 6).t(), null)); // a transposed view of a weight
        Assert.False(SmallBatchLinear.Applies(randn(1, 0), randn(6, 0), null));
        Assert.False(SmallBatchLinear.Applies(randn(1, 11), weight, null)); // F.linear names the mismatch
        Assert.Throws<System.Runtime.InteropServices.ExternalException>(() => Projection.Apply(randn(1, 11), weight));

        // Recording gradients: F.linear, whose backward is LibTorch's.
        var trained = weight.clone().requires_grad_(true);
        Assert.False(SmallBatchLinear.Applies(x, trained, null));
        var y = Projection.Apply(x, trained);
        y.sum().backward();
        Compare.Close(trained.grad!, x.expand(6, 10), 0, "weight gradient");
        using (no_grad()) Assert.True(SmallBatchLinear.Applies(x, trained, null));
    }

    [Theory]
    [InlineData(AttentionKind.Softmax, false)]
    [InlineData(AttentionKind.Differential, true)]
    [InlineData(AttentionKind.DifferentialV2, false)]
    public void ACachedStepWithoutGradientsMatchesTheSameStepWithThem(AttentionKind kind, bool tiedHead)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var config = Build.TinyConfig(kind, vocab: 40) with { EmbedDim = 64, TieEmbeddings = tiedHead };
        using var model = new DiffTransformerLM(config);
        model.eval();
        var prompt = randint(0, 40, new long[] { 1, 6 });
        var next = randint(0, 40, new long[] { 1, 1 });
        Tensor Step()
        {
            using var cache = model.CreateCache();
            model.forward(prompt, cache);
            return model.forward(next, cache).detach();
        }
        var withGradients = Step(); // F.linear: parameters record gradients
        Tensor fast;
        using (no_grad()) fast = Step();
        Compare.Close(fast, withGradients, 1e-5, $"{kind} cached step");
        Assert.NotEqual(0.0, fast.abs().max().item<float>());
    }
}
