using DiffTransformer.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Retrieval;

public class AttentionAllocationTests
{
    [Fact]
    public void SumsTheQueryRowOverAnswerAndDistractorsAndAveragesHeadsAndLayers()
    {
        // Two layers, batch 2, two heads, 4 queries, 6 keys, with values chosen so every average is distinct.
        using var scope = NewDisposeScope();
        var first = arange(2 * 2 * 4 * 6, dtype: ScalarType.Float64).reshape(2, 2, 4, 6) / 100;
        var second = first.flip(3) * 2;
        var layers = new[] { Maps(first), Maps(second) };
        var targets = new[]
        {
            new AllocationTarget(3, new TokenSpan(2, 2), new TokenSpan(1, 4)),
            new AllocationTarget(1, new TokenSpan(0, 1), new TokenSpan(0, 6)),
        };
        var measured = AttentionAllocation.Measure(layers, targets);

        for (int b = 0; b < 2; b++)
        {
            double answer = 0, distractors = 0, total = 0;
            foreach (var map in new[] { first, second })
                for (int h = 0; h < 2; h++)
                    for (int k = 0; k < 6; k++)
                    {
                        double w = map[b, h, targets[b].QueryPosition, k].item<double>() / 4; // 2 layers x 2 heads
                        total += w;
                        if (targets[b].Answer.Contains(k)) answer += w;
                        else if (targets[b].Context.Contains(k)) distractors += w;
                    }
            Assert.Equal(answer, measured[b].Answer, 12);
            Assert.Equal(distractors, measured[b].Distractors, 12);
            Assert.Equal(total, measured[b].Total, 12);
        }
        var mean = AttentionAllocation.Mean(measured);
        Assert.Equal((measured[0].Answer + measured[1].Answer) / 2, mean.Answer, 15);
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void MeasuresTheEffectiveMapOfEveryLayer(AttentionKind kind)
    {
        // Softmax rows sum to 1; differential rows sum to 1 - lambda (V1: one lambda per layer), so Total tells which map was read.
        manual_seed(3);
        using var model = new DiffTransformerLM(Build.TinyConfig(kind, vocab: 63) with { NumLayers = 3, MaxSequenceLength = 32 });
        var task = new NeedleRetrievalTask(new NeedleTaskOptions { SequenceLength = 32, ValidationExamples = 4, BatchSize = 4 });
        var examples = task.ValidationExamples;
        using var batch = NeedleRetrievalTask.ToBatch(examples, CPU);
        var maps = model.ComputeAttentionMaps(batch.Inputs);
        var measured = AttentionAllocation.Measure(maps, examples);

        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            double expectedTotal = maps.Average(m => m.Effective[i, .., e.QueryPosition, ..].sum(-1).mean().item<float>());
            double expectedAnswer = maps.Average(m => m.Effective[i, .., e.QueryPosition, e.AnswerSpan.Start..e.AnswerSpan.End].sum(-1).mean().item<float>());
            Assert.Equal(expectedTotal, measured[i].Total, 5);
            Assert.Equal(expectedAnswer, measured[i].Answer, 5);
            if (kind == AttentionKind.Softmax) Assert.Equal(1.0, measured[i].Total, 5);
            if (kind == AttentionKind.Differential)
            {
                double oneMinusLambda = model.Blocks.Average(b => 1 - ((DiffAttention)b.Attention).Lambda(ScalarType.Float64).item<double>());
                Assert.Equal(oneMinusLambda, measured[i].Total, 5);
            }
            // Answer + distractors + (BOS, QUERY, key) = total.
            double rest = maps.Average(m => (m.Effective[i, .., e.QueryPosition, 0] + m.Effective[i, .., e.QueryPosition, ^2..].sum(-1)).mean().item<float>());
            Assert.Equal(measured[i].Total, measured[i].Answer + measured[i].Distractors + rest, 5);
        }
        foreach (var m in maps) m.Dispose();
    }

    [Fact]
    public void BadArgumentsAreRejectedWithTheirShapes()
    {
        using var scope = NewDisposeScope();
        var map = Maps(ones(2, 1, 4, 4, dtype: ScalarType.Float64));
        var good = new AllocationTarget(3, new TokenSpan(1, 1), new TokenSpan(0, 4));
        var error = Assert.Throws<ArgumentException>(() => AttentionAllocation.Measure(Array.Empty<AttentionMaps>(), new[] { good, good }));
        Assert.Equal("layers", error.ParamName);
        error = Assert.Throws<ArgumentException>(() => AttentionAllocation.Measure(new[] { map }, new[] { good }));
        Assert.Contains("(2)", error.Message);
        Assert.Contains("got 1", error.Message);
        error = Assert.ThrowsAny<ArgumentException>(() => AttentionAllocation.Measure(new[] { map }, new[] { good, good with { QueryPosition = 4 } }));
        Assert.Contains("targets[1].QueryPosition", error.Message);
        error = Assert.ThrowsAny<ArgumentException>(() => AttentionAllocation.Measure(new[] { map }, new[] { good with { Answer = new TokenSpan(3, 2) }, good }));
        Assert.Contains("targets[0].Answer", error.Message);
        Assert.Contains("[3, 5)", error.Message);
        var other = Maps(ones(2, 1, 4, 5, dtype: ScalarType.Float64));
        error = Assert.Throws<ArgumentException>(() => AttentionAllocation.Measure(new[] { map, other }, new[] { good, good }));
        Assert.Contains("[2, 1, 4, 5]", error.Message);
        Assert.Throws<ArgumentException>(() => AttentionAllocation.Mean(Array.Empty<AttentionAllocation>()));
    }

    private static AttentionMaps Maps(Tensor effective) => new(AttentionKind.Softmax, effective, null, null, null);
}
