#pragma warning disable xUnit1051 // each generation here takes milliseconds; cancellation has its own tests
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Logits processors on constructed logits, and seeded sampling end to end.</summary>
public class SamplingTests
{
    // Probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 over ids 3, 0, 5, 1, 4, 2 (a shuffled order, so that sorting matters).
    static readonly double[] Probabilities = { 0.25, 0.1, 0.04, 0.4, 0.06, 0.15 };

    static Tensor ConstructedLogits(long rows) =>
        tensor(Probabilities).log().unsqueeze(0).expand(rows, Probabilities.Length).contiguous();

    static HashSet<long> Draw(Tensor scores, long seed)
    {
        using var generator = new Generator((ulong)seed);
        return LogitsProcessing.Choose(scores, sample: true, generator).data<long>().ToHashSet();
    }

    [Theory]
    [InlineData(1, new long[] { 3 })]
    [InlineData(2, new long[] { 3, 0 })]
    [InlineData(4, new long[] { 3, 0, 5, 1 })]
    public void TopKNeverEmitsATokenOutsideTheKHighest(int k, long[] allowed)
    {
        using var scope = NewDisposeScope();
        var drawn = Draw(LogitsProcessing.ApplyTopK(ConstructedLogits(4000), k), seed: 1);
        Assert.Equal(allowed.ToHashSet(), drawn); // every allowed token shows up, nothing else does
    }

    [Theory]
    [InlineData(0.3, new long[] { 3 })]             // 0.4 alone reaches 0.3
    [InlineData(0.5, new long[] { 3, 0 })]          // 0.4 + 0.25
    [InlineData(0.7, new long[] { 3, 0, 5 })]       // 0.4 + 0.25 + 0.15
    [InlineData(0.81, new long[] { 3, 0, 5, 1 })]
    [InlineData(0.95, new long[] { 3, 0, 5, 1, 4 })]
    [InlineData(1.0, new long[] { 3, 0, 5, 1, 4, 2 })]
    public void TopPNeverEmitsATokenOutsideTheNucleus(double p, long[] allowed)
    {
        using var scope = NewDisposeScope();
        var processed = LogitsProcessing.ApplyTopP(ConstructedLogits(4000).to(ScalarType.Float64), p);
        var kept = (processed[0] > double.NegativeInfinity).nonzero().view(-1).data<long>().ToHashSet();
        Assert.Equal(ExpectedNucleus(p), kept);
        Assert.Equal(allowed.ToHashSet(), Draw(processed, seed: 2));
    }

    /// <summary>The Hugging Face rule written out on the host: drop ascending-sorted tokens while the cumulative sum is at most 1 - p.</summary>
    static HashSet<long> ExpectedNucleus(double p)
    {
        var ascending = Probabilities.Select((q, id) => (q, id: (long)id)).OrderBy(t => t.q).ToArray();
        var kept = new HashSet<long>();
        double cumulative = 0;
        for (int i = 0; i < ascending.Length; i++)
        {
            cumulative += ascending[i].q;
            if (cumulative > 1 - p || i == ascending.Length - 1) kept.Add(ascending[i].id);
        }
        return kept;
    }

    [Fact]
    public void TopKThenTopPKeepsTheIntersection()
    {
        using var scope = NewDisposeScope();
        var options = new GenerationOptions { Temperature = 1, TopK = 3, TopP = 0.6 }; // after top-k: 0.5, 0.3125, 0.1875
        var processed = LogitsProcessing.Process(ConstructedLogits(2000), options);
        Assert.Equal(new long[] { 3, 0 }.ToHashSet(), Draw(processed, seed: 3));
    }

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits()
    {
        using var scope = NewDisposeScope();
        var scores = tensor(new[] { 2.0, -2.0, 1.0, -1.0, 0.0 }).unsqueeze(0);
        var seen = tensor(new[] { true, true, false, false, true }).unsqueeze(0);
        var penalised = LogitsProcessing.ApplyRepetitionPenalty(scores, seen, 2.0);
        Assert.Equal(new[] { 1.0, -4.0, 1.0, -1.0, 0.0 }, penalised.data<double>().ToArray());
        var rewarded = LogitsProcessing.ApplyRepetitionPenalty(scores, seen, 0.5); // < 1 favours repeats
        Assert.Equal(new[] { 4.0, -1.0, 1.0, -1.0, 0.0 }, rewarded.data<double>().ToArray());
    }

    [Fact]
    public void TemperatureScalesTheDistribution()
    {
        using var scope = NewDisposeScope();
        var scores = tensor(new[] { 1.0, 3.0 }).unsqueeze(0);
        Assert.Equal(new[] { 0.5, 1.5 }, LogitsProcessing.ApplyTemperature(scores, 2).data<double>().ToArray());
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void SeededSamplingIsReproducibleAndTheSeedMatters(AttentionKind kind)
    {
        var model = Decoding.Model(kind, dtype: ScalarType.Float32);
        var prompts = new[] { Decoding.RandomTokens(3, 30), Decoding.RandomTokens(5, 31) };
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 1.5, Seed = 42 };
        var first = model.Generate(prompts, options);
        manual_seed(999); // the global generator must not matter
        var second = model.Generate(prompts, options);
        var other = model.Generate(prompts, options with { Seed = 43 });
        for (int row = 0; row < 2; row++) Assert.Equal(first[row].Tokens, second[row].Tokens);
        Assert.False(first[0].Tokens.SequenceEqual(other[0].Tokens) && first[1].Tokens.SequenceEqual(other[1].Tokens),
            "seeds 42 and 43 drew the same 48 tokens");
    }

    [Fact]
    public void SamplingWithTopKOneIsGreedy()
    {
        var model = Decoding.Model(AttentionKind.Differential);
        var prompt = Decoding.RandomTokens(4, 32);
        var sampled = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 0.7, TopK = 1, Seed = 1 });
        Assert.Equal(Decoding.GreedyByFullForward(model, prompt, 10), sampled.Tokens);
    }

    [Fact]
    public void SampledTokensStayInsideTopKEndToEnd()
    {
        var model = Decoding.Model(AttentionKind.DifferentialV2);
        var prompt = Decoding.RandomTokens(3, 33);
        var result = model.Generate(prompt, new GenerationOptions { MaxNewTokens = 16, Temperature = 2, TopK = 3, Seed = 5 });
        var sequence = prompt.ToList();
        foreach (var token in result.Tokens)
        {
            var logits = Decoding.LastLogits(model, sequence);
            var third = logits.OrderByDescending(x => x).ElementAt(2);
            Assert.True(logits[token] >= third, $"token {token} (logit {logits[token]}) is outside the top 3 (third {third})");
            sequence.Add(token);
        }
    }
}
