using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

public class DiffTransformerLMTests
{
    public static TheoryData<AttentionKind> Kinds() => new(Build.Kinds);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LogitsHaveVocabularyShapeAndKeysAreRegular(AttentionKind kind)
    {
        var model = new DiffTransformerLM(Build.TinyConfig(kind));
        using var logits = model.call(zeros(new long[] { 3, 5 }, ScalarType.Int64));
        Assert.Equal(new long[] { 3, 5, 16 }, logits.shape);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("embed_tokens.weight", keys);
        Assert.Contains("layers.1.attn_norm.weight", keys);
        Assert.Contains("layers.0.attn.q_proj.weight", keys);
        Assert.Contains("layers.1.ffn.down_proj.weight", keys);
        Assert.Contains("norm.weight", keys);
        Assert.Contains("lm_head.weight", keys);
        string outputKey = kind == AttentionKind.DifferentialV2 ? "o_proj" : "out_proj";
        Assert.Contains($"layers.0.attn.{outputKey}.weight", keys);
        if (kind == AttentionKind.Differential) Assert.Contains("layers.1.attn.subln.weight", keys);
    }

    [Fact]
    public void BlocksGetTheirDepthAsLayerIndex()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { NumLayers = 3 });
        var depths = model.Blocks.Select(b => ((DiffAttention)b.Attention).Depth);
        Assert.Equal(new[] { 0, 1, 2 }, depths);
        Assert.Equal(DiffAttention.LambdaInitFor(2), ((DiffAttention)model.Blocks[2].Attention).LambdaInit, 15);
        Assert.Equal(0.8 - 0.6 * Math.Exp(-0.3 * 2), DiffAttention.LambdaInitFor(2), 15);
    }

    [Fact]
    public void TiedHeadSharesTheEmbeddingMatrix()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax) with { TieEmbeddings = true });
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        model.call(tokens).sum().backward();
        Assert.NotNull(model.get_parameter("embed_tokens.weight")!.grad);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LossFallsWellBelowItsStartOnATinyDataset(AttentionKind kind)
    {
        manual_seed(11);
        var model = new DiffTransformerLM(Build.TinyConfig(kind));
        // A fixed periodic sequence: fully predictable after a few tokens.
        var pattern = new long[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7 };
        var stream = Enumerable.Range(0, 33).Select(i => pattern[i % pattern.Length] % 16).ToArray();
        using var data = tensor(stream).unsqueeze(0);
        var inputs = data[.., ..^1];
        var targets = data[.., 1..];
        var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.Loss(inputs, targets);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(first > 2.0, $"initial loss {first} should be near ln(16) = 2.77");
        Assert.True(last < 0.25 * first, $"loss fell only from {first:F3} to {last:F3}");
    }

    [Fact]
    public void ModelBuiltInsideADisposeScopeSurvivesTheScope()
    {
        DiffTransformerLM model;
        using (NewDisposeScope()) model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var logits = model.call(tensor(new long[] { 1, 2, 3 }).unsqueeze(0));
        Assert.False(logits.isnan().any().item<bool>());
    }

    [Fact]
    public void ForwardLeavesNoTensorsInTheCallersScope()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var tokens = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        using var scope = NewDisposeScope();
        var logits = model.call(tokens);
        Assert.Equal(1, scope.DisposablesCount);
    }

    [Fact]
    public void Float64AndBFloat16Work()
    {
        manual_seed(3);
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 1, 2, 3, 4, 5 }).unsqueeze(0);
        var reference = model.call(tokens);
        model.to(ScalarType.Float64);
        var wide = model.call(tokens);
        Assert.Equal(ScalarType.Float64, wide.dtype);
        Compare.Close(wide, reference, 1e-5, "float64 vs float32");
        model.to(ScalarType.BFloat16);
        var narrow = model.call(tokens);
        Assert.Equal(ScalarType.BFloat16, narrow.dtype);
        Compare.Close(narrow, reference, 5e-2, "bfloat16 vs float32");
        DiffTransformerLM.CrossEntropy(narrow, tokens).backward();
    }
}
