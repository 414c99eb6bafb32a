#pragma warning disable xUnit1051 // each generation here takes milliseconds; cancellation has its own tests
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Greedy generation equals repeated full forwards with argmax, alone and in padded batches.</summary>
public class GreedyGenerationTests
{
    public static TheoryData<AttentionKind, int?> Cases() => Decoding.KindsAndKvHeads();

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyEqualsRepeatedFullForwards(AttentionKind kind, int? kvHeads)
    {
        var model = Decoding.Model(kind, kvHeads);
        var prompt = Decoding.RandomTokens(5, 11);
        var result = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 12 });
        Assert.Equal(Decoding.GreedyByFullForward(model, prompt, 12), result.Tokens);
        Assert.Equal(FinishReason.Length, result.FinishReason);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PaddedBatchRowsEqualEachPromptDecodedAlone(AttentionKind kind, int? kvHeads)
    {
        var model = Decoding.Model(kind, kvHeads);
        var prompts = new[] { Decoding.RandomTokens(2, 12), Decoding.RandomTokens(9, 13), Decoding.RandomTokens(5, 14) };
        var results = model.Generate(prompts, new GenerationOptions { MaxNewTokens = 8 });
        for (int row = 0; row < prompts.Length; row++)
            Assert.Equal(Decoding.GreedyByFullForward(model, prompts[row], 8), results[row].Tokens);
    }

    [Fact]
    public void TensorPromptsWithAPaddingMaskEqualTheListForm()
    {
        var model = Decoding.Model(AttentionKind.DifferentialV2, kvHeads: 1);
        var prompts = new[] { Decoding.RandomTokens(3, 15), Decoding.RandomTokens(6, 16) };
        using var scope = NewDisposeScope();
        var tokens = full(new long[] { 2, 6 }, 9L, ScalarType.Int64); // padding positions hold an arbitrary id
        tokens[0, TensorIndex.Slice(3)] = tensor(prompts[0]);
        tokens[1] = tensor(prompts[1]);
        var mask = tensor(new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1 }).view(2, 6);
        var options = new GenerationOptions { MaxNewTokens = 6 };
        var fromTensor = model.Generate(tokens, mask, options);
        var fromLists = model.Generate(prompts, options);
        for (int row = 0; row < 2; row++) Assert.Equal(fromLists[row].Tokens, fromTensor[row].Tokens);
    }

    [Theory]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void RepetitionPenaltyMatchesTheHuggingFaceRuleOnEveryStep(AttentionKind kind)
    {
        var model = Decoding.Model(kind);
        var prompts = new[] { Decoding.RandomTokens(6, 17), Decoding.RandomTokens(2, 18) };
        var options = new GenerationOptions { MaxNewTokens = 10, RepetitionPenalty = 1.8 };
        var results = model.Generate(prompts, options);
        for (int row = 0; row < 2; row++)
        {
            var expected = Decoding.GreedyByFullForward(model, prompts[row], 10, repetitionPenalty: 1.8);
            Assert.Equal(expected, results[row].Tokens);
        }
        // The penalty changed something, so the check above is not the plain greedy check again.
        var plain = model.Generate(prompts, options with { RepetitionPenalty = 1 });
        Assert.True(Enumerable.Range(0, 2).Any(r => !plain[r].Tokens.SequenceEqual(results[r].Tokens)), "penalty had no effect");
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void MapsAreCapturedAtEveryStepWithoutChangingTheResult(AttentionKind kind)
    {
        var model = Decoding.Model(kind, kvHeads: 1);
        var prompts = new[] { Decoding.RandomTokens(4, 19), Decoding.RandomTokens(2, 20) };
        var shapes = new List<(int Step, int Layer, long[] Shape)>();
        var options = new GenerationOptions
        {
            MaxNewTokens = 3,
            AttentionMapsCaptured = (step, layer, maps) =>
            {
                using (maps)
                {
                    Assert.Equal(kind, maps.Kind);
                    Assert.False(maps.Effective.isnan().any().item<bool>());
                    shapes.Add((step, layer, maps.Effective.shape));
                }
            },
        };
        var captured = model.Generate(prompts, options);
        var plain = model.Generate(prompts, options with { AttentionMapsCaptured = null });
        for (int row = 0; row < 2; row++) Assert.Equal(plain[row].Tokens, captured[row].Tokens);

        int heads = model.Blocks[0].Attention.NumHeads;
        Assert.Equal(3 * 2, shapes.Count); // 3 model calls (the last token is never fed) x 2 layers
        Assert.Equal(new long[] { 2, heads, 4, 4 }, shapes.Single(s => s.Step == 0 && s.Layer == 1).Shape);
        Assert.Equal(new long[] { 2, heads, 1, 6 }, shapes.Single(s => s.Step == 2 && s.Layer == 0).Shape);
    }

    [Fact]
    public void AGivenCacheIsReusedAcrossCalls()
    {
        var model = Decoding.Model(AttentionKind.Differential);
        using var cache = model.CreateCache(initialCapacity: 1);
        var first = model.Generate(new[] { Decoding.RandomTokens(3, 21), Decoding.RandomTokens(5, 22) },
            new GenerationOptions { MaxNewTokens = 4 }, cache);
        Assert.Equal(5 + 4 - 1, cache.Length);
        var prompt = Decoding.RandomTokens(4, 23);
        var second = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 5 }, cache); // another batch size
        Assert.Equal(Decoding.GreedyByFullForward(model, prompt, 5), second.Tokens);
        Assert.Equal(2, first.Count);
    }
}
