using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>The validation loss of a language model, computed without gradients.</summary>
public static class ValidationLoss
{
    /// <summary>
    /// Runs <paramref name="model"/> in evaluation mode and without gradients over <paramref name="batches"/> (disposing
    /// each) and returns the loss averaged over every scored target, weighting batches by their scored targets. The
    /// model's training mode is restored afterwards. Device-to-host copies: one per batch (<see cref="DiffTransformerLM.Loss"/>
    /// reads its token and target range checks back) and one at the end (the totals).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="batches">Batches on the model's device; taken over and disposed.</param>
    /// <param name="maxBatches">Read at most this many batches (all when null).</param>
    /// <exception cref="ArgumentException">No batch had a scored target.</exception>
    public static EvaluationResult Evaluate(DiffTransformerLM model, IEnumerable<TrainingBatch> batches, int? maxBatches = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        if (maxBatches is { } limit) Guard.Positive(limit, nameof(maxBatches));
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var device = model.Device;
            var lossSum = zeros(1, ScalarType.Float64, device);
            var countSum = zeros(1, ScalarType.Int64, device);
            int read = 0;
            foreach (var batch in batches)
            {
                using (batch)
                using (NewDisposeScope())
                {
                    var count = batch.Targets.NotEqual(TrainingBatch.IgnoreIndex).sum();
                    var mean = model.Loss(batch.Inputs, batch.Targets, TrainingBatch.IgnoreIndex).to(ScalarType.Float64);
                    // A batch with no scored target has a NaN mean; it contributes nothing.
                    lossSum.PlusInPlace(where(count.Greater(0), mean * count, zeros_like(mean)));
                    countSum.PlusInPlace(count);
                }
                if (++read == maxBatches) break;
            }
            var totals = cat(new[] { lossSum, countSum.to(ScalarType.Float64) }).cpu();
            double loss = totals[0].item<double>();
            long tokens = (long)totals[1].item<double>();
            if (tokens == 0)
                throw new ArgumentException($"batches must contain at least one scored target; {read} batches had none.", nameof(batches));
            return new EvaluationResult(loss / tokens, tokens);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
