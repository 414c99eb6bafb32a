namespace DiffTransformer;

/// <summary>
/// A training step produced a NaN or infinite loss or gradient norm and <see cref="TrainingOptions.NonFinite"/> is
/// <see cref="NonFinitePolicy.Throw"/>. Thrown before the optimizer update: the trainer, its model and optimizer state
/// are as they were after the previous step, so the run can be saved, or resumed with other options.
/// </summary>
public sealed class NonFiniteStepException : ArithmeticException
{
    /// <summary>Describes the failed step <paramref name="step"/> (1-based) of <paramref name="totalSteps"/>.</summary>
    public NonFiniteStepException(long step, long totalSteps, double loss, double gradientNorm)
        : base(Describe(step, totalSteps, loss, gradientNorm))
    {
        Step = step;
        Loss = loss;
        GradientNorm = gradientNorm;
    }

    private static string Describe(long step, long totalSteps, double loss, double gradientNorm) =>
        FormattableString.Invariant($"Training step {step} of {totalSteps} produced a non-finite value (loss {loss}, gradient norm {gradientNorm}); ") +
        FormattableString.Invariant($"its update was not applied, so the weights and optimizer state are those after step {step - 1}. ") +
        "Lower the learning rate or check the batches of this step, or set TrainingOptions.NonFinite = NonFinitePolicy.SkipStep to skip such steps.";

    /// <summary>The failed step (1-based): <see cref="Trainer.CompletedSteps"/> + 1 when it was attempted.</summary>
    public long Step { get; }

    /// <summary>The step's loss (mean over its micro-batches).</summary>
    public double Loss { get; }

    /// <summary>The global gradient norm before clipping.</summary>
    public double GradientNorm { get; }
}
