using DiffTransformer.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Retrieval;

public class NeedleRetrievalTaskTests
{
    private static readonly NeedleTaskOptions Small = new() { SequenceLength = 32, NeedleCount = 3, BatchSize = 16, ValidationExamples = 40, Seed = 7 };

    [Fact]
    public void ExamplesHideDistinctNeedlesAndQueryOneOfThem()
    {
        var task = new NeedleRetrievalTask(Small);
        long keyStart = 3, valueStart = keyStart + Small.KeyCount, fillerStart = valueStart + Small.ValueCount;
        var examples = Enumerable.Range(0, 20).SelectMany(i => task.TrainingExamples(i)).Concat(task.ValidationExamples).ToList();
        foreach (var e in examples)
        {
            var tokens = e.Tokens;
            Assert.Equal(32, tokens.Count);
            Assert.Equal(NeedleRetrievalTask.Bos, tokens[0]);
            Assert.Equal(NeedleRetrievalTask.QueryMarker, tokens[^2]);
            Assert.Equal(new TokenSpan(1, 29), e.Context);
            Assert.Equal(31, e.QueryPosition);

            // Exactly NeedleCount markers, each followed by a key and a value; everything else in the context is filler.
            var markers = Enumerable.Range(e.Context.Start, e.Context.Length).Where(p => tokens[p] == NeedleRetrievalTask.NeedleMarker).ToArray();
            Assert.Equal(e.NeedleStarts, markers);
            var needlePositions = markers.SelectMany(p => new[] { p, p + 1, p + 2 }).ToHashSet();
            Assert.Equal(3 * Small.NeedleCount, needlePositions.Count); // no overlap
            Assert.All(markers, p => Assert.InRange(tokens[p + 1], keyStart, valueStart - 1));
            Assert.All(markers, p => Assert.InRange(tokens[p + 2], valueStart, fillerStart - 1));
            Assert.Equal(Small.NeedleCount, markers.Select(p => tokens[p + 1]).Distinct().Count());
            Assert.Equal(Small.NeedleCount, markers.Select(p => tokens[p + 2]).Distinct().Count());
            for (int p = e.Context.Start; p < e.Context.End; p++)
                if (!needlePositions.Contains(p)) Assert.InRange(tokens[p], fillerStart, task.VocabSize - 1);

            // The query asks for the key of the answer span, whose value is the answer.
            int queried = e.NeedleStarts[e.QueriedNeedle];
            Assert.Equal(new TokenSpan(queried, 3), e.AnswerSpan);
            Assert.Equal(tokens[queried + 1], tokens[^1]);
            Assert.Equal(tokens[queried + 2], e.Answer);

            // Depth is the needle's relative start in the context and lies in its bucket.
            int lastStart = e.Context.Length - 3;
            Assert.Equal((double)(queried - e.Context.Start) / lastStart, e.Depth, 12);
            Assert.True(e.Depth >= (double)e.DepthBucket / Small.DepthBuckets, $"depth {e.Depth} below bucket {e.DepthBucket}");
            Assert.True(e.Depth < (double)(e.DepthBucket + 1) / Small.DepthBuckets || (e.DepthBucket == Small.DepthBuckets - 1 && e.Depth <= 1),
                $"depth {e.Depth} above bucket {e.DepthBucket}");
        }
        // Every depth bucket, every needle rank and both ends of the context occur.
        Assert.Equal(Small.DepthBuckets, examples.Select(e => e.DepthBucket).Distinct().Count());
        Assert.Equal(Small.NeedleCount, examples.Select(e => e.QueriedNeedle).Distinct().Count());
        Assert.Contains(examples, e => e.Depth == 0);
        Assert.Contains(examples, e => e.Depth == 1);
    }

    [Fact]
    public void BatchesScoreOnlyTheAnswer()
    {
        var task = new NeedleRetrievalTask(Small);
        using var batch = task.GetTrainingBatch(3, CPU);
        var examples = task.TrainingExamples(3);
        Assert.Equal(new long[] { 16, 32 }, batch.Inputs.shape);
        Assert.Equal(ScalarType.Int64, batch.Inputs.dtype);
        var inputs = batch.Inputs.data<long>().ToArray();
        var targets = batch.Targets.data<long>().ToArray();
        for (int row = 0; row < 16; row++)
        {
            Assert.Equal(examples[row].Tokens, inputs.Skip(row * 32).Take(32));
            Assert.All(targets.Skip(row * 32).Take(31), t => Assert.Equal(TrainingBatch.IgnoreIndex, t));
            Assert.Equal(examples[row].Answer, targets[row * 32 + 31]);
        }
    }

    [Fact]
    public void BatchesArePureFunctionsOfSeedAndIndex()
    {
        var a = new NeedleRetrievalTask(Small);
        var b = new NeedleRetrievalTask(Small);
        var later = Tokens(a.TrainingExamples(5));
        _ = a.TrainingExamples(0);
        Assert.Equal(later, Tokens(b.TrainingExamples(5)));           // order and instance do not matter
        Assert.NotEqual(later, Tokens(a.TrainingExamples(6)));         // another index, other examples
        Assert.NotEqual(later, Tokens(new NeedleRetrievalTask(Small with { Seed = 8 }).TrainingExamples(5)));
        Assert.Equal(Tokens(a.ValidationExamples), Tokens(b.ValidationExamples));
        var training = Enumerable.Range(0, 10).SelectMany(i => Tokens(a.TrainingExamples(i))).Select(Text).ToHashSet();
        Assert.DoesNotContain(Tokens(a.ValidationExamples).Select(Text), training.Contains); // validation is its own stream
    }

    [Fact]
    public void ValidationCyclesThroughTheDepthBuckets()
    {
        var task = new NeedleRetrievalTask(Small);
        Assert.Equal(40, task.ValidationExamples.Count);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i % 4), task.ValidationExamples.Select(e => e.DepthBucket));
        var batches = task.GetValidationBatches(CPU).ToList();
        Assert.Equal(new long[] { 16, 16, 8 }, batches.Select(b => b.Inputs.shape[0]));
        foreach (var batch in batches) batch.Dispose();
    }

    [Fact]
    public void TokenLabelsNameEveryKindOfToken()
    {
        var task = new NeedleRetrievalTask(Small);
        Assert.Equal("BOS", task.TokenLabel(0));
        Assert.Equal("N", task.TokenLabel(NeedleRetrievalTask.NeedleMarker));
        Assert.Equal("Q", task.TokenLabel(NeedleRetrievalTask.QueryMarker));
        Assert.Equal("k5", task.TokenLabel(task.KeyToken(5)));
        Assert.Equal("v15", task.TokenLabel(task.ValueToken(3, 15)));
        Assert.Equal(task.ValueToken(0, 15), task.ValueToken(3, 15)); // shared values
        Assert.Equal(".", task.TokenLabel(task.FillerToken(0)));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => task.TokenLabel(task.VocabSize));
        Assert.Contains("63", error.Message);
    }

    [Fact]
    public void KeyedValuesNameTheirKey()
    {
        var task = new NeedleRetrievalTask(Small with { KeyedValues = true, KeyCount = 5, ValueCount = 4 });
        Assert.Equal(3 + 5 + 20 + Small.FillerCount, task.VocabSize);
        Assert.Equal("v2.3", task.TokenLabel(task.ValueToken(2, 3)));
        Assert.Equal(3 + 5 + 2 * 4 + 3, task.ValueToken(2, 3));
        Assert.Equal(".", task.TokenLabel(task.FillerToken(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => task.ValueToken(5, 0));
        foreach (var e in task.ValidationExamples.Concat(task.TrainingExamples(0)))
            foreach (int start in e.NeedleStarts)
            {
                int key = (int)(e.Tokens[start + 1] - 3);
                long value = e.Tokens[start + 2];
                Assert.InRange(value, task.ValueToken(key, 0), task.ValueToken(key, 3)); // the value belongs to its needle's key
            }
        // One value per key is enough here: keys are distinct, so values are too.
        var oneValue = new NeedleRetrievalTask(Small with { KeyedValues = true, ValueCount = 1 });
        Assert.All(oneValue.TrainingExamples(0), e =>
            Assert.Equal(e.NeedleStarts.Count, e.NeedleStarts.Select(start => e.Tokens[start + 2]).Distinct().Count()));
        var none = Assert.ThrowsAny<ArgumentException>(() => new NeedleRetrievalTask(Small with { KeyedValues = true, ValueCount = 0 }));
        Assert.Equal("ValueCount", none.ParamName);
    }

    [Theory]
    [InlineData("SequenceLength", 17)]
    [InlineData("NeedleCount", 0)]
    [InlineData("KeyCount", 2)]
    [InlineData("ValueCount", 2)]
    [InlineData("FillerCount", 0)]
    [InlineData("BatchSize", 0)]
    [InlineData("ValidationExamples", 0)]
    [InlineData("DepthBuckets", 27)]
    [InlineData("DepthBuckets", 0)]
    public void BadOptionsAreRejectedByName(string option, int value)
    {
        var options = option switch
        {
            "SequenceLength" => Small with { SequenceLength = value },
            "NeedleCount" => Small with { NeedleCount = value },
            "KeyCount" => Small with { KeyCount = value },
            "ValueCount" => Small with { ValueCount = value },
            "FillerCount" => Small with { FillerCount = value },
            "BatchSize" => Small with { BatchSize = value },
            "ValidationExamples" => Small with { ValidationExamples = value },
            _ => Small with { DepthBuckets = value },
        };
        var error = Assert.ThrowsAny<ArgumentException>(() => new NeedleRetrievalTask(options));
        Assert.Equal(option, error.ParamName);
        Assert.Contains(value.ToString(), error.Message);
    }

    [Fact]
    public void TheTightestLayoutsStillFit()
    {
        // 3 + 5 * needles tokens and one bucket per start position are the documented limits.
        var task = new NeedleRetrievalTask(Small with { SequenceLength = 18, DepthBuckets = 12, ValidationExamples = 48 });
        Assert.All(task.ValidationExamples, e => Assert.Equal(3, e.NeedleStarts.Count));
        Assert.Equal(12, task.ValidationExamples.Select(e => e.DepthBucket).Distinct().Count());
        Assert.All(task.TrainingExamples(99), e =>
        {
            Assert.Equal(18, e.Tokens.Count);
            Assert.Equal(3, e.NeedleStarts.Count);
        });
    }

    private static string Text(long[] tokens) => string.Join(",", tokens);

    private static long[][] Tokens(IEnumerable<NeedleExample> examples) => examples.Select(e => e.Tokens.ToArray()).ToArray();
}
