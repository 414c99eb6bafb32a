namespace DiffTransformer;

/// <summary>What one optimizer step did; reported after every step.</summary>
/// <param name="Step">Steps completed, including this one (1-based).</param>
/// <param name="TotalSteps">Steps of the whole run (<see cref="TrainingOptions.Steps"/>).</param>
/// <param name="Loss">Training loss of this step (mean over its micro-batches).</param>
/// <param name="LearningRate">Learning rate this step used.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="TokensPerSecond">Input tokens of this step divided by its wall time.</param>
/// <param name="Tokens">Input tokens trained on so far, this step included.</param>
/// <param name="Elapsed">Wall time spent in training steps by this trainer (evaluations excluded).</param>
/// <param name="Validation">Validation result, on steps where <see cref="Trainer.Run"/> evaluated; otherwise null.</param>
public sealed record TrainingProgress(
    long Step, long TotalSteps, double Loss, double LearningRate, double GradientNorm, double TokensPerSecond,
    long Tokens, TimeSpan Elapsed, EvaluationResult? Validation = null)
{
    /// <summary>
    /// True when this step's loss or gradient norm was non-finite and its update was skipped
    /// (<see cref="NonFinitePolicy.SkipStep"/>); the weights and optimizer state are those of the step before.
    /// </summary>
    public bool StepSkipped { get; init; }

    /// <summary>Steps whose update was skipped so far in this run (saved in checkpoints), this one included.</summary>
    public long SkippedSteps { get; init; }

    /// <summary>The periodic checkpoint <see cref="Trainer.Run"/> saved after this step (a <c>checkpoint-STEP</c> directory), or null.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Share of the run completed, in [0, 1].</summary>
    public double Fraction => Math.Min(1.0, (double)Step / TotalSteps);
}
