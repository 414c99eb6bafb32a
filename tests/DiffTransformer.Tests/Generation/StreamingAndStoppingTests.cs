#pragma warning disable xUnit1051 // each generation here takes milliseconds; cancellation has its own tests
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Stop tokens, streams, cancellation and the release of native memory.</summary>
public class StreamingAndStoppingTests
{
    static readonly long[][] Prompts = { Decoding.RandomTokens(4, 50), Decoding.RandomTokens(2, 51), Decoding.RandomTokens(6, 52) };

    [Fact]
    public void AStopTokenEndsItsRowAndIsKept()
    {
        var model = Decoding.Model(AttentionKind.Differential);
        var free = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10 });
        long stop = free[0].Tokens[2]; // row 0 meets it at index 2 at the latest
        var stopped = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10, StopTokens = new[] { stop } });
        for (int row = 0; row < Prompts.Length; row++)
        {
            int at = free[row].Tokens.ToList().IndexOf(stop);
            var expected = at < 0 ? free[row].Tokens : free[row].Tokens.Take(at + 1).ToArray();
            Assert.Equal(expected, stopped[row].Tokens);
            Assert.Equal(at < 0 ? FinishReason.Length : FinishReason.StopToken, stopped[row].FinishReason);
            Assert.Equal(Decoding.GreedyByFullForward(model, Prompts[row], 10, stopToken: stop), stopped[row].Tokens);
        }
        Assert.Equal(FinishReason.StopToken, stopped[0].FinishReason);
    }

    [Fact]
    public void WithoutStopTokensInTheOptionsTheModelsOwnApplyAndAnEmptyListStopsNothing()
    {
        var model = Decoding.Model(AttentionKind.Softmax);
        var free = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10 });
        long stop = free[0].Tokens[2];
        var explicitStop = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10, StopTokens = new[] { stop } });
        model.StopTokens = new[] { stop };
        var byModel = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10 });
        var none = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 10, StopTokens = Array.Empty<long>() });
        for (int row = 0; row < Prompts.Length; row++)
        {
            Assert.Equal(explicitStop[row].Tokens, byModel[row].Tokens);
            Assert.Equal(free[row].Tokens, none[row].Tokens);
        }
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.StopTokens = new long[] { 16 });
        Assert.Contains("StopTokens[0] must lie in [0, 16)", error.Message);
    }

    [Fact]
    public void MinNewTokensSuppressesStopTokens()
    {
        var model = Decoding.Model(AttentionKind.DifferentialV2);
        var first = model.Generate(Prompts[0], new GenerationOptions { MaxNewTokens = 1 }).Tokens[0];
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokens = new[] { first } };
        Assert.Equal(new[] { first }, model.Generate(Prompts[0], options).Tokens);
        var delayed = model.Generate(Prompts[0], options with { MinNewTokens = 3 });
        Assert.DoesNotContain(first, delayed.Tokens.Take(3));
        Assert.True(delayed.Tokens.Count >= 3);
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public async Task StreamsEqualTheNonStreamingResult(AttentionKind kind)
    {
        var model = Decoding.Model(kind, kvHeads: 1);
        var free = model.Generate(Prompts, new GenerationOptions { MaxNewTokens = 8 });
        var options = new GenerationOptions { MaxNewTokens = 8, StopTokens = new[] { free[1].Tokens[3] }, RepetitionPenalty = 1.3 };
        var expected = model.Generate(Prompts, options);

        var streamed = model.GenerateStream(Prompts, options).ToList();
        var streamedAsync = new List<GeneratedToken>();
        await foreach (var token in model.GenerateStreamAsync(Prompts, options)) streamedAsync.Add(token);
        Assert.Equal(streamed, streamedAsync);

        for (int row = 0; row < Prompts.Length; row++)
        {
            var tokens = streamed.Where(t => t.Row == row).ToList();
            Assert.Equal(expected[row].Tokens, tokens.Select(t => t.Token));
            Assert.Equal(Enumerable.Range(0, tokens.Count), tokens.Select(t => t.Index));
            Assert.All(tokens.SkipLast(1), t => Assert.Null(t.FinishReason));
            Assert.Equal(expected[row].FinishReason, tokens[^1].FinishReason);
        }
        Assert.Equal(expected[0].Tokens, model.GenerateStream(Prompts[0], options).Select(t => t.Token));
    }

    [Fact]
    public void CancellationStopsGenerationAndTheStreams()
    {
        var model = Decoding.Model(AttentionKind.Differential);
        var options = new GenerationOptions { MaxNewTokens = 20 };
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Generate(Prompts, options, cancellationToken: cancelled.Token));

        using var source = new CancellationTokenSource();
        var seen = new List<GeneratedToken>();
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var token in model.GenerateStream(Prompts[0], options, cancellationToken: source.Token))
            {
                seen.Add(token);
                if (seen.Count == 3) source.Cancel();
            }
        });
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public async Task CancellationStopsTheAsyncStream()
    {
        var model = Decoding.Model(AttentionKind.DifferentialV2);
        using var source = new CancellationTokenSource();
        int count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var token in model.GenerateStreamAsync(Prompts[2], new GenerationOptions { MaxNewTokens = 20 })
                               .WithCancellation(source.Token))
            {
                if (++count == 2) source.Cancel();
            }
        });
        Assert.Equal(2, count);
    }

    [Fact]
    public void GenerationLeavesNoLiveTensorsBehind()
    {
        var model = Decoding.Model(AttentionKind.Differential, kvHeads: 1);
        var options = new GenerationOptions { MaxNewTokens = 6, Temperature = 1, TopK = 5, TopP = 0.9, RepetitionPenalty = 1.2, Seed = 3, StopTokens = new long[] { 15 } };
        model.Generate(Prompts, options); // warm up anything created once
        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.ThreadTotalLiveCount;

        model.Generate(Prompts, options);
        Assert.Equal(before, statistics.ThreadTotalLiveCount);

        foreach (var token in model.GenerateStream(Prompts, options)) break; // abandoned after one token
        Assert.Equal(before, statistics.ThreadTotalLiveCount);

        var cache = model.CreateCache();
        model.Generate(Prompts, options with { AttentionMapsCaptured = (_, _, maps) => maps.Dispose() }, cache);
        Assert.True(statistics.ThreadTotalLiveCount > before, "the given cache should still hold its buffers");
        cache.Dispose();
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }
}
