using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>The loop shown in docs/training.md, written with the helpers alone, does what <see cref="Trainer"/> does.</summary>
public sealed class HandWrittenLoopTests
{
    [Fact]
    public void TheDocumentedLoopMatchesTheTrainer()
    {
        var config = Corpus.ByteConfig();
        var options = new TrainingOptions { Steps = 12, WarmupSteps = 3, LearningRate = 5e-3 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 4, time: 32, validationFraction: 0.1, seed: 1);

        manual_seed(7);
        using var model = new DiffTransformerLM(config);
        var losses = new List<float>();
        // --- as in docs/training.md ---
        using var optimizer = ParameterGroups.CreateAdamW(model, options);
        var schedule = options.Schedule;
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            schedule.Apply(optimizer, step);
            using var batch = data.GetTrainingBatch(step, CPU);
            var loss = model.Loss(batch.Inputs, batch.Targets);
            loss.backward();
            GradientClipping.ClipByGlobalNorm(model.parameters(), options.MaxGradientNorm);
            optimizer.step();
            optimizer.zero_grad();
            losses.Add(loss.item<float>());
        }
        var validation = ValidationLoss.Evaluate(model, data.GetValidationBatches(CPU));
        // ---

        manual_seed(7);
        using var same = new DiffTransformerLM(config);
        using var trainer = new Trainer(same, data, options);
        var reports = trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(reports.Select(r => (double)r.Loss), losses.Select(l => (double)l), new Tolerance(1e-5));
        Assert.Equal(trainer.Evaluate().Loss, validation.Loss, 4);
        Assert.True(losses[^1] < losses[0]);
    }

    private sealed class Tolerance(double relative) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= relative * Math.Max(Math.Abs(x), Math.Abs(y));

        public int GetHashCode(double obj) => 0;
    }
}
