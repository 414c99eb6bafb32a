namespace DiffTransformer;

/// <summary>Numeric precision of training.</summary>
public enum TrainingPrecision
{
    /// <summary>Weights, activations, gradients and optimizer state in float32 (the model must be float32).</summary>
    Float32,

    /// <summary>
    /// Weights and activations in bfloat16; float32 master weights receive the (float32-cast) gradients, are clipped and
    /// updated by AdamW in float32, and are rounded back into the bfloat16 model after every step. Losses and
    /// normalisations are computed in float32 by the model itself.
    /// </summary>
    BFloat16,
}

/// <summary>
/// Hyperparameters of a <see cref="Trainer"/>. Defaults: AdamW with the paper's betas (0.9, 0.98), weight decay 0.1,
/// peak learning rate 1e-3 after 100 warm-up steps, cosine decay to 1e-4 at step 1000, gradients clipped to norm 1.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Optimizer steps of the whole run; the schedule reaches <see cref="MinLearningRate"/> here.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Peak learning rate, reached at the end of warm-up.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Floor of the cosine decay (0 decays to zero).</summary>
    public double MinLearningRate { get; init; } = 1e-4;

    /// <summary>Steps of linear warm-up from <c>LearningRate / WarmupSteps</c> to <see cref="LearningRate"/>.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>Decoupled weight decay of the matrices (see <see cref="ParameterGroups"/>).</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>AdamW's first-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW's second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.98;

    /// <summary>AdamW's denominator epsilon.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Gradients are scaled down so that their global L2 norm is at most this; null turns clipping off.</summary>
    public double? MaxGradientNorm { get; init; } = 1.0;

    /// <summary>Micro-batches whose gradients are averaged into one optimizer step.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Numeric precision.</summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Float32;

    /// <summary><see cref="Trainer.Run"/> evaluates every this many steps and after the last one; 0 never evaluates.</summary>
    public int EvaluationInterval { get; init; }

    /// <summary>Most validation batches one evaluation reads; null reads them all.</summary>
    public int? MaxEvaluationBatches { get; init; }

    /// <summary>The learning-rate schedule these options describe.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public WarmupCosineSchedule Schedule => new(LearningRate, MinLearningRate, WarmupSteps, Steps);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that breaks its rule.</summary>
    public void Validate()
    {
        Guard.Positive(Steps, nameof(Steps));
        Guard.NonNegative(EvaluationInterval, nameof(EvaluationInterval));
        Guard.Positive(GradientAccumulationSteps, nameof(GradientAccumulationSteps));
        if (MaxEvaluationBatches is { } batches) Guard.Positive(batches, nameof(MaxEvaluationBatches));
        Guard.NonNegativeFinite(WeightDecay, nameof(WeightDecay));
        Guard.UnitInterval(Beta1, nameof(Beta1));
        Guard.UnitInterval(Beta2, nameof(Beta2));
        Guard.PositiveFinite(Epsilon, nameof(Epsilon));
        if (MaxGradientNorm is { } norm) Guard.PositiveFinite(norm, nameof(MaxGradientNorm));
        Guard.Defined(Precision, nameof(Precision));
        _ = Schedule; // checks the learning rates and step counts
    }
}
