using TorchSharp;

namespace DiffTransformer.Tests;

public class ParameterCountTests
{
    private static long Count(torch.nn.Module module) => module.parameters().Sum(p => p.numel());

    [Theory]
    [InlineData(512, 4, null)]
    [InlineData(512, 4, 2)]
    [InlineData(64, 2, 1)]
    public void DiffAttentionWithHHeadsMatchesSoftmaxWith2HHeads(int embed, int heads, int? kvHeads)
    {
        var diff = new DiffAttention(embed, depth: 0, heads, kvHeads);
        var softmax = new SoftmaxAttention(embed, 2 * heads, kvHeads * 2);
        // Identical projections; V1 adds four lambda vectors of headDim and the per-head norm of 2 * headDim.
        int headDim = embed / heads / 2;
        Assert.Equal(Count(softmax) + 4 * headDim + 2 * headDim, Count(diff));
        Assert.Equal(Count(softmax), Count(diff) - 6 * headDim);
    }

    [Fact]
    public void DiffAttentionV2AddsSecondQueryHeadsAndLambdaProjection()
    {
        const int embed = 256, heads = 4, headDim = 64;
        var v2 = new DiffAttentionV2(embed, heads, numKvHeads: 2, headDim);
        var softmax = new SoftmaxAttention(embed, heads, numKvHeads: 2);
        Assert.Equal(Count(softmax) + embed * heads * headDim + embed * heads, Count(v2));
    }

    [Theory]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void BaselineConfigOfAModelHasTheExpectedParameterGap(AttentionKind kind)
    {
        var config = new DiffTransformerConfig { Attention = kind, VocabSize = 100, EmbedDim = 64, NumLayers = 3, NumHeads = 2 };
        var baselineConfig = config.ToSoftmaxBaseline();
        Assert.Equal(AttentionKind.Softmax, baselineConfig.Attention);
        long model = Count(new DiffTransformerLM(config)), baseline = Count(new DiffTransformerLM(baselineConfig));
        if (kind == AttentionKind.Differential)
        {
            Assert.Equal(4, baselineConfig.NumHeads);
            Assert.Equal(baseline + config.NumLayers * 6 * (64 / 2 / 2), model);
        }
        else
        {
            Assert.Equal(2, baselineConfig.NumHeads);
            Assert.Equal(baseline + config.NumLayers * (64 * 64 + 64 * 2), model);
        }
    }
}
