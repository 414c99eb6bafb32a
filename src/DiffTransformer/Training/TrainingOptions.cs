using DiffTransformer.Training;

namespace DiffTransformer;

/// <summary>
/// Hyperparameters of a <see cref="Trainer"/>. Defaults: AdamW with the paper's betas (0.9, 0.98), weight decay 0.1,
/// peak learning rate 1e-3 after 100 warm-up steps, cosine decay to 1e-4 at step 1000, gradients clipped to norm 1; a
/// non-finite loss or gradient norm throws; no periodic checkpoints. The run-control options (<see cref="NonFinite"/>
/// and the <c>Checkpoint*</c> options) are not saved in a checkpoint's <c>trainer_state.json</c> and may differ when
/// resuming; the others are saved and must match (see <see cref="Trainer.LoadCheckpoint"/>).
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

    /// <summary>What a step whose loss or gradient norm is NaN or infinite does (default: throw before the update).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Throw;

    /// <summary>
    /// Where <see cref="Trainer.Run"/> saves a training checkpoint every <see cref="CheckpointInterval"/> steps and after
    /// the last step, each in a subdirectory <c>checkpoint-STEP</c> (Hugging Face's layout); null saves none. Resume with
    /// <see cref="Trainer.ResumeFromLatestCheckpoint"/>. One run at a time per directory.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? CheckpointDirectory { get; init; }

    /// <summary>Steps between two periodic checkpoints (Hugging Face's <c>save_steps</c>); used with <see cref="CheckpointDirectory"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int CheckpointInterval { get; init; } = 500;

    /// <summary>
    /// Periodic checkpoints kept (Hugging Face's <c>save_total_limit</c>): after a new one is complete, the oldest beyond
    /// this many are deleted. Null keeps them all.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int? CheckpointsKept { get; init; } = 3;

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
        Guard.Defined(NonFinite, nameof(NonFinite));
        if (CheckpointDirectory is not null) Guard.NotBlank(CheckpointDirectory, nameof(CheckpointDirectory));
        Guard.Positive(CheckpointInterval, nameof(CheckpointInterval));
        if (CheckpointsKept is { } kept) Guard.Positive(kept, nameof(CheckpointsKept));
        _ = Schedule; // checks the learning rates and step counts
    }

    /// <summary>These options with the run-control ones at their defaults: what a checkpoint saves and compares.</summary>
    internal TrainingOptions Hyperparameters() => this with
    {
        NonFinite = Defaults.NonFinite,
        CheckpointDirectory = Defaults.CheckpointDirectory,
        CheckpointInterval = Defaults.CheckpointInterval,
        CheckpointsKept = Defaults.CheckpointsKept,
    };

    private static readonly TrainingOptions Defaults = new();
}
