using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>The documented edge cases of the logits processors, and the arguments they refuse.</summary>
public class LogitsProcessingRulesTests
{
    private static Tensor Scores(params double[] values) => tensor(values).unsqueeze(0);

    private static bool[] Kept(Tensor processed) => processed.isfinite()[0].data<bool>().ToArray();

    [Fact]
    public void TopKKeepsEveryTokenTiedAtTheBoundary()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(new[] { true, true, true, false }, Kept(LogitsProcessing.ApplyTopK(Scores(3, 2, 2, 1), 2)));
    }

    [Fact]
    public void TopKLargerThanTheVocabularyKeepsEverything()
    {
        using var scope = NewDisposeScope();
        var scores = Scores(3, -2, 0.5);
        Assert.Equal(scores.data<double>().ToArray(), LogitsProcessing.ApplyTopK(scores, 50).data<double>().ToArray());
    }

    [Fact]
    public void GreedyChoiceBreaksTiesTowardsTheLowestId()
    {
        using var scope = NewDisposeScope();
        var scores = cat(new[] { Scores(1, 5, 5, 0), Scores(7, 0, 0, 7) });
        Assert.Equal(new long[] { 1, 0 }, LogitsProcessing.Choose(scores, sample: false).data<long>().ToArray());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    public void RepetitionPenaltyMustBePositiveAndFinite(double penalty)
    {
        using var scope = NewDisposeScope();
        var scores = Scores(1, 2);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            LogitsProcessing.ApplyRepetitionPenalty(scores, zeros_like(scores, dtype: ScalarType.Bool), penalty));
        Assert.Equal("penalty", error.ParamName);
        Assert.Contains("> 0", error.Message);
    }

    [Fact]
    public void ProcessWithARepetitionPenaltyNeedsTheSeenTokens()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentNullException>(() =>
            LogitsProcessing.Process(Scores(1, 2), new GenerationOptions { RepetitionPenalty = 1.3 }));
        Assert.Equal("seen", error.ParamName);
    }

    [Fact]
    public void ProcessChecksItsOptionsAndTheSeenTokens()
    {
        using var scope = NewDisposeScope();
        var options = Assert.Throws<ArgumentOutOfRangeException>(() => LogitsProcessing.Process(Scores(1, 2), new GenerationOptions { TopP = 0 }));
        Assert.Equal("TopP", options.ParamName);
        var stop = Assert.Throws<ArgumentOutOfRangeException>(() => LogitsProcessing.Process(Scores(1, 2), new GenerationOptions { StopTokens = new long[] { 2 } }));
        Assert.Contains("StopTokens[0] must lie in [0, 2) (VocabSize); got 2.", stop.Message);
        var seen = Assert.Throws<ArgumentException>(() =>
            LogitsProcessing.Process(Scores(1, 2), new GenerationOptions { RepetitionPenalty = 1.3 }, zeros(1, 3, dtype: ScalarType.Bool)));
        Assert.Equal("seen", seen.ParamName);
        Assert.Contains("[1, 2]", seen.Message);
    }

    [Fact]
    public void IntegerScoresAreRefused()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => LogitsProcessing.ApplyTopP(tensor(new long[] { 1, 2 }).unsqueeze(0), 0.9));
        Assert.Equal("scores", error.ParamName);
        Assert.Contains("floating point; got dtype Int64", error.Message);
    }
}
