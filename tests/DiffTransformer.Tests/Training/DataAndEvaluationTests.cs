using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

public sealed class DataAndEvaluationTests
{
    private static readonly int[] Stream = Enumerable.Range(0, 1000).Select(i => i % 256).ToArray();

    [Fact]
    public void TrainingBatchesAreReproducibleWindowsOfTheTrainingSplit()
    {
        using var batches = new TokenBatches(Stream, batchSize: 4, time: 16, validationFraction: 0.2, seed: 42);
        Assert.Equal(800, batches.TrainingTokens);
        Assert.Equal(200, batches.ValidationTokens);
        using var again = new TokenBatches(Stream, 4, 16, 0.2, seed: 42);
        using var other = new TokenBatches(Stream, 4, 16, 0.2, seed: 43);
        var seen = new HashSet<long>();
        for (long index = 0; index < 50; index++)
        {
            using var batch = batches.GetTrainingBatch(index, CPU);
            using var same = again.GetTrainingBatch(index, CPU);
            Assert.True(Bits.Same(batch.Inputs, same.Inputs) && Bits.Same(batch.Targets, same.Targets));
            Assert.Equal(new long[] { 4, 16 }, batch.Inputs.shape);
            Assert.Equal(ScalarType.Int64, batch.Inputs.dtype);
            var starts = batches.TrainingWindowStarts(index);
            for (int row = 0; row < 4; row++)
            {
                long start = starts[row];
                seen.Add(start);
                Assert.InRange(start, 0, 800 - 17); // the window and its last target stay in the training split
                var inputs = batch.Inputs[row].data<long>().ToArray();
                var targets = batch.Targets[row].data<long>().ToArray();
                for (int t = 0; t < 16; t++)
                {
                    Assert.Equal(Stream[start + t], inputs[t]);
                    Assert.Equal(Stream[start + t + 1], targets[t]);
                }
            }
        }
        Assert.True(seen.Count > 150, $"only {seen.Count} distinct starts in 200 draws");
        Assert.NotEqual(batches.TrainingWindowStarts(0), other.TrainingWindowStarts(0));
    }

    [Fact]
    public void ValidationWindowsCoverTheValidationSplitOnce()
    {
        using var batches = new TokenBatches(Stream, batchSize: 3, time: 16, validationFraction: 0.2, seed: 1);
        var predicted = new List<long>();
        int count = 0;
        foreach (var batch in batches.GetValidationBatches(CPU))
            using (batch)
            {
                count++;
                Assert.True(Bits.Same(batch.Inputs.narrow(1, 1, 15), batch.Targets.narrow(1, 0, 15)));
                predicted.AddRange(batch.Targets.reshape(-1).data<long>().ToArray());
            }
        Assert.Equal(batches.ValidationBatchCount, count);
        Assert.Equal(4, count); // (200 - 1) / 16 = 12 windows, 3 per batch
        Assert.Equal(Stream[801..993].Select(v => (long)v), predicted); // consecutive targets, each once
    }

    [Theory]
    [InlineData(0, 16, 0.1, "batchSize")]
    [InlineData(4, 0, 0.1, "time")]
    [InlineData(4, 16, 1.0, "validationFraction")]
    [InlineData(4, 16, -0.1, "validationFraction")]
    [InlineData(4, 1000, 0.0, "tokens")]
    [InlineData(4, 200, 0.1, "tokens")] // 100 validation tokens cannot hold a 201-token window
    public void BadBatchingArgumentsAreNamed(int batchSize, int time, double fraction, string name)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new TokenBatches(Stream, batchSize, time, fraction));
        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void EvaluationIsTheTokenWeightedMeanLossWithoutGradients()
    {
        manual_seed(8);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        model.train();
        var first = randint(0, 256, new long[] { 2, 8 });
        var firstTargets = randint(0, 256, new long[] { 2, 8 });
        var second = randint(0, 256, new long[] { 1, 8 });
        var secondTargets = randint(0, 256, new long[] { 1, 8 });
        secondTargets[0].narrow(0, 0, 5).fill_(TrainingBatch.IgnoreIndex); // only 3 scored targets

        var result = ValidationLoss.Evaluate(model, new[]
        {
            new TrainingBatch(first.clone(), firstTargets.clone()), new TrainingBatch(second.clone(), secondTargets.clone()),
        });

        Assert.True(model.training, "training mode was not restored");
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        using var noGrad = no_grad();
        var logits = cat(new[] { model.forward(first).reshape(-1, 256), model.forward(second).reshape(-1, 256) });
        var targets = cat(new[] { firstTargets.reshape(-1), secondTargets.reshape(-1) });
        double expected = nn.functional.cross_entropy(logits, targets, ignore_index: TrainingBatch.IgnoreIndex).item<float>();
        Assert.Equal(19, result.Tokens);
        Assert.Equal(expected, result.Loss, 5);
        Assert.Equal(Math.Exp(result.Loss), result.Perplexity, 10);

        // maxBatches stops after the first batch: its 16 targets, its loss.
        var limited = ValidationLoss.Evaluate(model, new[]
        {
            new TrainingBatch(first.clone(), firstTargets.clone()), new TrainingBatch(second.clone(), secondTargets.clone()),
        }, maxBatches: 1);
        double firstOnly = nn.functional.cross_entropy(model.forward(first).reshape(-1, 256), firstTargets.reshape(-1)).item<float>();
        Assert.Equal(16, limited.Tokens);
        Assert.Equal(firstOnly, limited.Loss, 5);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ValidationLoss.Evaluate(model, Array.Empty<TrainingBatch>(), maxBatches: 0));
        Assert.Equal("maxBatches", error.ParamName);
    }

    [Fact]
    public void EvaluationOfNothingScoredIsAnError()
    {
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        var all = full(new long[] { 1, 4 }, TrainingBatch.IgnoreIndex, ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() =>
            ValidationLoss.Evaluate(model, new[] { new TrainingBatch(zeros(new long[] { 1, 4 }, ScalarType.Int64), all) }));
        Assert.Equal("batches", error.ParamName);
    }
}
