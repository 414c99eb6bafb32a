using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

public class AttentionMapsTests
{
    [Fact]
    public void DiffAttentionMapsAreTwoCausalSoftmaxesAndTheirDifference()
    {
        using var scope = NewDisposeScope();
        var module = (DiffAttention)Build.Attention(AttentionKind.Differential, kernel: AttentionKernel.Fused);
        var x = Build.Input(2, 6, 32);
        using var maps = module.ComputeMaps(x);
        Assert.Equal(new long[] { 2, 2, 6, 6 }, maps.First!.shape);
        foreach (var map in new[] { maps.First!, maps.Second! })
        {
            Compare.Close(map.sum(-1), ones(2, 2, 6, dtype: ScalarType.Float64), 1e-12, "rows sum to one");
            Assert.Equal(0.0, map.triu(1).abs().max().item<double>()); // nothing after the query
        }
        var lambda = module.Lambda(ScalarType.Float64);
        Assert.Equal(0, maps.Lambda!.dim());
        Compare.Close(maps.Lambda!, lambda, 1e-15, "lambda");
        Compare.Close(maps.Effective, maps.First! - lambda * maps.Second!, 1e-15, "differential map");
        Assert.Equal(AttentionKind.Differential, maps.Kind);
        Assert.Equal(AttentionKernel.Fused, module.Kernel); // capturing does not change the module
    }

    [Fact]
    public void DiffAttentionV2MapsCarryAPerTokenLambda()
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(AttentionKind.DifferentialV2, heads: 2);
        using var maps = module.ComputeMaps(Build.Input(1, 5, 32));
        Assert.Equal(new long[] { 1, 2, 5 }, maps.Lambda!.shape);
        Assert.True(maps.Lambda!.min().item<double>() > 0 && maps.Lambda!.max().item<double>() < 1, "sigmoid range");
        Compare.Close(maps.Effective, maps.First! - maps.Lambda!.unsqueeze(-1) * maps.Second!, 1e-15, "differential map");
    }

    [Fact]
    public void SoftmaxMapsHaveNoLambda()
    {
        using var maps = Build.Attention(AttentionKind.Softmax, heads: 4).ComputeMaps(Build.Input(1, 4, 32));
        Assert.Null(maps.First);
        Assert.Null(maps.Lambda);
        Assert.Equal(new long[] { 1, 4, 4, 4 }, maps.Effective.shape);
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void ModelReturnsOneMapPerLayer(AttentionKind kind)
    {
        var model = new DiffTransformerLM(Build.TinyConfig(kind) with { NumLayers = 3 });
        var maps = model.ComputeAttentionMaps(tensor(new long[] { 1, 2, 3, 4 }).unsqueeze(0));
        Assert.Equal(3, maps.Count);
        Assert.All(maps, m => Assert.Equal(4, m.Effective.shape[3]));
        foreach (var m in maps) m.Dispose();
    }
}
