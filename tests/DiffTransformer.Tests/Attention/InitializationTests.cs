using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Initial weights follow the official modules: lambda vectors N(0, 0.1), norm weights 1, nn.Linear's default.</summary>
public class InitializationTests
{
    private static Dictionary<string, Tensor> Parameters(nn.Module m) => m.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    [Fact]
    public void LambdaVectorsAreNormalWithStdPointOneAndNormWeightsAreOne()
    {
        manual_seed(21);
        var module = new DiffAttention(embedDim: 2048, depth: 3, numHeads: 1); // headDim 1024: four vectors of 1024 draws
        var p = Parameters(module);
        var lambdas = cat(new[] { p["lambda_q1"], p["lambda_k1"], p["lambda_q2"], p["lambda_k2"] });
        Assert.Equal(4096, lambdas.numel());
        Assert.InRange(lambdas.std().item<float>(), 0.095, 0.105);   // 4096 draws: the std's own spread is about 0.0011
        Assert.InRange(lambdas.mean().item<float>(), -0.006, 0.006);
        Assert.Equal(1.0f, p["subln.weight"].min().item<float>());
        Assert.Equal(1.0f, p["subln.weight"].max().item<float>());
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void ProjectionsUseLinearDefaultBounds(AttentionKind kind)
    {
        // nn.Linear (and the official init_method): kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        var module = Build.Attention(kind, embed: 256, heads: 4, dtype: ScalarType.Float32);
        foreach (var (name, weight) in Parameters(module).Where(p => p.Key.EndsWith("proj.weight")))
        {
            double bound = 1 / Math.Sqrt(weight.shape[1]);
            Assert.True(weight.abs().max().item<float>() <= bound, $"{name} exceeds {bound}");
            Assert.True(weight.abs().max().item<float>() > 0.9 * bound, $"{name} does not fill U(-{bound}, {bound})");
        }
    }
}
