using DiffTransformer;
using DiffTransformer.Retrieval;

namespace NeedleInAHaystack;

/// <summary>One validation pass during training.</summary>
/// <param name="Step">Steps completed when it ran.</param>
/// <param name="Loss">Mean answer loss over the validation examples.</param>
/// <param name="Accuracy">Share of validation examples retrieved correctly.</param>
public sealed record ValidationPoint(int Step, double Loss, double Accuracy);

/// <summary>Where one example's final query attends, for the heatmaps.</summary>
/// <param name="TokenLabels">A short label per input token (see <see cref="NeedleRetrievalTask.TokenLabel"/>).</param>
/// <param name="AnswerSpan">The queried needle's positions.</param>
/// <param name="QueryRows">The effective attention row of the final query, one per layer and head: <c>[layers * heads][time]</c>.</param>
/// <param name="RowLabels">"L0 H1"-style label per row of <paramref name="QueryRows"/>.</param>
/// <param name="Predicted">The model's most likely token at the query position.</param>
/// <param name="Answer">The correct token.</param>
public sealed record ExampleAttention(
    IReadOnlyList<string> TokenLabels, TokenSpan AnswerSpan, double[][] QueryRows, IReadOnlyList<string> RowLabels,
    string Predicted, string Answer);

/// <summary>Everything measured for one model.</summary>
/// <param name="Name">Display name.</param>
/// <param name="Config">Its configuration.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="HeadDim">Query/key (sub-)head size of its attention layers (<see cref="CausalSelfAttention.HeadDim"/>).</param>
/// <param name="TrainingLoss">Training loss of every step, in order.</param>
/// <param name="Validation">Validation passes during training.</param>
/// <param name="FinalTrainingLoss">Mean training loss over the last tenth of the steps (one step's loss is noisy).</param>
/// <param name="Final">Accuracy, loss and attention allocation on the validation examples after training.</param>
/// <param name="TokensPerSecond">Training input tokens over training wall time.</param>
/// <param name="Example">The attention of one validation example.</param>
public sealed record ModelResult(
    string Name, DiffTransformerConfig Config, long Parameters, int HeadDim, IReadOnlyList<double> TrainingLoss,
    IReadOnlyList<ValidationPoint> Validation, double FinalTrainingLoss, RetrievalResult Final, double TokensPerSecond,
    ExampleAttention Example);

/// <summary>The outcome of one comparison run.</summary>
/// <param name="Options">The run's settings.</param>
/// <param name="Task">The task's settings.</param>
/// <param name="Models">One result per model, in <see cref="ModelLineup"/> order.</param>
/// <param name="Elapsed">Wall time of the whole run.</param>
public sealed record ExperimentResults(ExperimentOptions Options, NeedleTaskOptions Task, IReadOnlyList<ModelResult> Models, TimeSpan Elapsed)
{
    /// <summary>Accuracy of guessing uniformly among the values the answer can be (the queried key's own values when keyed).</summary>
    public double GuessAccuracy => 1.0 / Task.ValueCount;

    /// <summary>What <see cref="GuessAccuracy"/> means, in words.</summary>
    public string GuessDescription => Task.KeyedValues
        ? $"guessing among the queried key's {Task.ValueCount} values"
        : $"guessing among the {Task.ValueCount} values";

    /// <summary>A label per depth bucket, such as "0-25%".</summary>
    public IReadOnlyList<string> DepthLabels => Enumerable.Range(0, Task.DepthBuckets)
        .Select(b => $"{100 * b / Task.DepthBuckets}-{100 * (b + 1) / Task.DepthBuckets}%").ToArray();
}

/// <summary>Progress of one model's training, reported after each of its steps.</summary>
/// <param name="Model">Index of the model in the lineup.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps of the run.</param>
/// <param name="Loss">This step's training loss.</param>
/// <param name="Validation">The validation pass of this step, if one ran.</param>
public sealed record RunProgress(int Model, string Name, int Step, int TotalSteps, double Loss, ValidationPoint? Validation);
