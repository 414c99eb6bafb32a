using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>
/// A step whose loss or gradient norm is not finite never reaches the weights. The poison comes from the data: one batch
/// whose targets are all the ignore index, so the mean cross-entropy is 0 / 0 = NaN (and so are its gradients), as a
/// batch of nothing but padding would give. Checked in float32 and bfloat16 (float32 masters), with and without gradient
/// accumulation (the poisoned micro-batch is the last of its step, after a healthy one).
/// </summary>
public sealed class NonFiniteStepTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<TrainingPrecision, int> Cases() => new()
    {
        { TrainingPrecision.Float32, 1 }, { TrainingPrecision.Float32, 2 }, { TrainingPrecision.BFloat16, 1 }, { TrainingPrecision.BFloat16, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ByDefaultTheStepThrowsBeforeTheUpdate(TrainingPrecision precision, int accumulation)
    {
        using var data = Poisoned(accumulation);
        manual_seed(4);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, Options(precision, accumulation));
        trainer.Step();
        var before = Snapshot(trainer);
        long tokens = trainer.Tokens;

        var error = Assert.Throws<NonFiniteStepException>(() => trainer.Step());
        Assert.Equal(2, error.Step);
        Assert.True(double.IsNaN(error.Loss), $"loss {error.Loss}");
        Assert.Contains("Training step 2 of 4", error.Message);
        Assert.True(error.Message.Contains($"(loss NaN, gradient norm {error.GradientNorm})", StringComparison.Ordinal), error.Message);
        Assert.Contains("NonFinitePolicy.SkipStep", error.Message);
        Assert.Equal(1, trainer.CompletedSteps);
        Assert.Equal(tokens, trainer.Tokens);
        AssertUnchanged(before, Snapshot(trainer));
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.count_nonzero().item<long>() == 0));

        // The run stops there too, every time: the poisoned step is not counted, so it is tried again.
        var run = Assert.Throws<NonFiniteStepException>(() => trainer.Run(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(2, run.Step);
        AssertUnchanged(before, Snapshot(trainer));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SkipStepLeavesTheWeightsAndGoesOn(TrainingPrecision precision, int accumulation)
    {
        using var data = Poisoned(accumulation);
        manual_seed(4);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, Options(precision, accumulation) with { NonFinite = NonFinitePolicy.SkipStep });
        var first = trainer.Step();
        var before = Snapshot(trainer);
        long tokens = trainer.Tokens;

        var skipped = trainer.Step();
        Assert.True(skipped.StepSkipped);
        Assert.Equal(1, skipped.SkippedSteps);
        Assert.True(double.IsNaN(skipped.Loss));
        Assert.Equal(2, trainer.CompletedSteps);
        Assert.Equal(tokens, trainer.Tokens);
        AssertUnchanged(before, Snapshot(trainer));

        var rest = trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(first.StepSkipped);
        Assert.Equal(new long[] { 3, 4 }, rest.Select(r => r.Step));
        Assert.All(rest, r => Assert.True(!r.StepSkipped && r.SkippedSteps == 1 && double.IsFinite(r.Loss)));
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.Equal(1, trainer.SkippedSteps);

        // The count is part of the checkpoint.
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory);
        manual_seed(5);
        using var other = new DiffTransformerLM(Corpus.ByteConfig());
        using var resumed = new Trainer(other, data, Options(precision, accumulation)); // NonFinite is not compared
        resumed.LoadCheckpoint(directory);
        Assert.Equal(1, resumed.SkippedSteps);
        Assert.Equal(4, resumed.CompletedSteps);
    }

    private static TrainingOptions Options(TrainingPrecision precision, int accumulation) =>
        new() { Steps = 4, WarmupSteps = 0, LearningRate = 1e-2, Precision = precision, GradientAccumulationSteps = accumulation };

    /// <summary>Corpus batches, except that the last micro-batch of step 2 scores no target at all.</summary>
    private static PoisonedBatch Poisoned(int accumulation) =>
        new(new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5), poisoned: 2L * accumulation - 1);

    private sealed class PoisonedBatch(TokenBatches inner, long poisoned) : ITrainingData, IDisposable
    {
        public TrainingBatch GetTrainingBatch(long index, Device device)
        {
            var batch = inner.GetTrainingBatch(index, device);
            if (index != poisoned) return batch;
            using (batch) return new TrainingBatch(batch.Inputs.clone(), full_like(batch.Targets, TrainingBatch.IgnoreIndex));
        }

        public IEnumerable<TrainingBatch> GetValidationBatches(Device device) => inner.GetValidationBatches(device);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Model weights, optimized parameters (the masters in bfloat16) and AdamW moments and steps.</summary>
    private static List<(string Name, Tensor Value)> Snapshot(Trainer trainer)
    {
        var values = trainer.Model.state_dict().Select(p => ("model." + p.Key, p.Value.detach().clone())).ToList();
        values.AddRange(trainer.Optimizer.parameters().Select((p, i) => ($"optimized.{i}", p.detach().clone())));
        var states = trainer.Optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        for (int i = 0; i < states.Length; i++)
        {
            values.Add(($"exp_avg.{i}", states[i].exp_avg.clone()));
            values.Add(($"exp_avg_sq.{i}", states[i].exp_avg_sq.clone()));
            values.Add(($"step.{i}", tensor(states[i].step)));
        }
        return values;
    }

    private static void AssertUnchanged(List<(string Name, Tensor Value)> before, List<(string Name, Tensor Value)> after)
    {
        Assert.Equal(before.Select(b => b.Name), after.Select(a => a.Name));
        for (int i = 0; i < before.Count; i++) Assert.True(Bits.Same(before[i].Value, after[i].Value), before[i].Name);
    }
}
