using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>The decoder is embedding, blocks, final RMSNorm and head, built from its configuration's values.</summary>
public class ModelCompositionTests
{
    public static TheoryData<AttentionKind, bool> KindsAndTying()
    {
        var data = new TheoryData<AttentionKind, bool>();
        foreach (var kind in Build.Kinds)
        {
            data.Add(kind, false);
            data.Add(kind, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndTying))]
    public void LogitsAreTheHeadOfTheNormOfTheBlocksOfTheEmbedding(AttentionKind kind, bool tied)
    {
        manual_seed(5);
        var model = new DiffTransformerLM(Build.TinyConfig(kind) with { TieEmbeddings = tied, NormEps = 1e-3 });
        model.to(ScalarType.Float64);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(new long[] { 1, 7, 3, 15, 0, 9, 2, 11, 4, 4, 8, 5 }).reshape(2, 6);

        var x = model.get_parameter("embed_tokens.weight")!.index_select(0, tokens.flatten()).reshape(2, 6, -1);
        foreach (var block in model.Blocks) x = block.call(x);
        var normWeight = model.get_parameter("norm.weight")!;
        x = x * x.square().mean(new long[] { -1 }, keepdim: true).Plus(1e-3).rsqrt() * normWeight;
        var head = model.get_parameter(tied ? "embed_tokens.weight" : "lm_head.weight")!;
        var expected = nn.functional.linear(x, head);

        var logits = model.call(tokens);
        Assert.True(logits.allclose(expected, rtol: 0, atol: 1e-12),
            $"max difference {(logits - expected).abs().max().item<double>():E2}");
    }

    [Fact]
    public void TiedHeadFollowsTheEmbeddingMatrix()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax) with { TieEmbeddings = true });
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        var before = model.call(tokens).clone();
        // Rows the input never looks up only reach the logits through the tied head.
        using (no_grad())
        {
            var row = model.get_parameter("embed_tokens.weight")![10];
            row.copy_(row.Times(3.0));
        }
        var after = model.call(tokens);
        Assert.False(before[.., .., 10].allclose(after[.., .., 10]), "logit 10 ignored a change of embedding row 10");
        Assert.True(before[.., .., ..10].allclose(after[.., .., ..10], rtol: 0, atol: 0));
    }

    [Fact]
    public void ConfigurationValuesReachEveryModule()
    {
        var config = Build.TinyConfig(AttentionKind.DifferentialV2) with
        {
            RopeTheta = 5000, NormEps = 1e-4, Kernel = AttentionKernel.Naive, NumKvHeads = 1, HeadDim = 8,
        };
        var model = new DiffTransformerLM(config);
        foreach (var block in model.Blocks)
        {
            Assert.Equal(5000, block.Attention.RopeTheta);
            Assert.Equal(AttentionKernel.Naive, block.Attention.Kernel);
            Assert.Equal(1, block.Attention.NumKvHeads);
            Assert.Equal(8, block.Attention.HeadDim);
            Assert.Equal(config.ResolvedFfnHiddenDim, block.FeedForward.HiddenDim);
        }
        var norms = model.modules().OfType<RmsNorm>().ToList();
        Assert.Equal(2 * config.NumLayers + 1, norms.Count);
        Assert.All(norms, n => Assert.Equal(1e-4, n.Eps));
    }

    [Theory]
    [InlineData(32, 96)]   // 8/3 x 32 = 85.3, rounded up to a multiple of 32
    [InlineData(48, 128)]  // 128 exactly
    [InlineData(64, 192)]  // 170.7 -> 192
    [InlineData(512, 1376)]
    public void FeedForwardWidthIsEightThirdsRoundedUpToThirtyTwo(int embed, int expected)
    {
        var config = new DiffTransformerConfig { EmbedDim = embed, NumHeads = 4 };
        Assert.Equal(expected, config.ResolvedFfnHiddenDim);
        Assert.Equal(40, (config with { FfnHiddenDim = 40 }).ResolvedFfnHiddenDim);
    }

    [Fact]
    public void VersionTwoHeadSizeDefaultsToEmbedOverHeads()
    {
        var config = new DiffTransformerConfig { Attention = AttentionKind.DifferentialV2, EmbedDim = 64, NumHeads = 4 };
        Assert.Equal(16, config.ResolvedHeadDim);
        Assert.Equal(8, (config with { HeadDim = 8 }).ResolvedHeadDim);
    }

    [Fact]
    public void SoftmaxBaselineOfAVersionTwoConfigWithOtherHeadSizeIsRefused()
    {
        var config = new DiffTransformerConfig { Attention = AttentionKind.DifferentialV2, EmbedDim = 64, NumHeads = 4, HeadDim = 8 };
        var error = Assert.Throws<InvalidOperationException>(() => config.ToSoftmaxBaseline());
        Assert.Contains("EmbedDim / NumHeads = 16", error.Message);
        Assert.Contains("HeadDim 8", error.Message);
    }
}
