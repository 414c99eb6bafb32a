using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// Without gradients, V1 computes its lambda once per cached sequence (not per layer per step); a new sequence (reset,
/// crop to nothing, a fresh cache) computes it again from the weights it then has.
/// </summary>
public class LambdaPerSequenceTests
{
    [Theory]
    [InlineData("reset")]
    [InlineData("crop")]
    public void ANewSequenceTakesTheLambdaOfTheCurrentWeights(string restart)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        manual_seed(4);
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        model.to(ScalarType.Float64);
        var prompt = tensor(new long[,] { { 1, 2, 3, 4 } });
        var cache = model.CreateCache();
        model.forward(prompt, cache);
        model.forward(tensor(new long[,] { { 5 } }), cache);

        // New lambda weights in every layer (a direct change, made between sequences as the contract asks).
        foreach (var (name, parameter) in model.named_parameters())
            if (name.Contains("lambda_")) parameter.copy_(randn_like(parameter).Times(0.3));
        if (restart == "reset") cache.Reset();
        else cache.Crop(0);

        var cached = model.forward(prompt, cache);
        var step = model.forward(tensor(new long[,] { { 5 } }), cache);
        var uncached = model.forward(tensor(new long[,] { { 1, 2, 3, 4, 5 } }));
        Compare.Close(cached, uncached.narrow(1, 0, 4), 1e-12, "prompt after " + restart);
        Compare.Close(step, uncached.narrow(1, 4, 1), 1e-12, "step after " + restart);
        cache.Dispose();
    }

    [Fact]
    public void StepsOfASequenceGiveWhatTheUncachedModelGives()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        manual_seed(5);
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        model.to(ScalarType.Float64);
        var tokens = tensor(new long[,] { { 3, 1, 4, 1, 5, 9, 2, 6 } });
        var cache = model.CreateCache(2);
        var pieces = new List<Tensor> { model.forward(tokens.narrow(1, 0, 3), cache) };
        for (int t = 3; t < 8; t++) pieces.Add(model.forward(tokens.narrow(1, t, 1), cache));
        Compare.Close(cat(pieces, 1), model.forward(tokens), 1e-12, "cached steps");
        cache.Dispose();
    }

    [Fact]
    public void TrainingCallsThroughACacheStillGetLambdaGradients()
    {
        using var scope = NewDisposeScope();
        var attention = (DiffAttention)Build.Attention(AttentionKind.Differential);
        using var cache = new KvCacheLayer();
        var y = attention.forward(Build.Input(1, 4, 32), new AttentionContext { Cache = cache });
        y.sum().backward();
        foreach (var (name, parameter) in attention.named_parameters().Where(p => p.name.StartsWith("lambda_")))
            Assert.True(parameter.grad is not null && parameter.grad.abs().sum().item<double>() > 0, name);
    }
}
