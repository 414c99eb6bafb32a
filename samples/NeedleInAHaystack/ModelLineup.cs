using DiffTransformer;
using DiffTransformer.Samples;

namespace NeedleInAHaystack;

/// <summary>One contestant: a display name and the configuration of its model.</summary>
public sealed record Contestant(string Name, DiffTransformerConfig Config);

/// <summary>
/// The three parameter-matched models. V1 with <c>h</c> heads and the softmax baseline with <c>2h</c> heads have the same
/// projections (<see cref="DiffTransformerConfig.ToSoftmaxBaseline"/>; V1 adds only its lambda vectors and per-head
/// norm). V2 at the baseline's heads and head size has twice the query projection plus <c>lambda_proj</c>, so its SwiGLU
/// is narrowed until its total parameter count is as close to the baseline's as whole units allow.
/// </summary>
public static class ModelLineup
{
    /// <summary>V1, V2 and softmax configurations for a task with <paramref name="vocabSize"/> tokens.</summary>
    public static IReadOnlyList<Contestant> Create(ExperimentOptions options, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        var v1 = SampleModels.V1(vocabSize, options.EmbedDim, options.Layers, options.DiffHeads, options.SequenceLength);
        var softmax = v1.ToSoftmaxBaseline();
        var v2 = softmax with { Attention = AttentionKind.DifferentialV2 };
        long target = ParameterCount(softmax);
        // SwiGLU holds 3 * EmbedDim * width parameters per layer: remove V2's surplus there.
        long surplus = ParameterCount(v2) - target;
        int width = v2.ResolvedFfnHiddenDim - (int)Math.Round(surplus / (3.0 * v2.EmbedDim * v2.NumLayers));
        v2 = v2 with { FfnHiddenDim = width };
        return new[]
        {
            new Contestant("Diff V1", v1),
            new Contestant("Diff V2", v2),
            new Contestant("Softmax", softmax),
        };
    }

    /// <summary>Trainable parameters of a model with <paramref name="config"/> (counted on a freshly built model).</summary>
    public static long ParameterCount(DiffTransformerConfig config)
    {
        using var model = new DiffTransformerLM(config);
        return ParameterCount(model);
    }

    /// <summary>Trainable parameters of <paramref name="model"/>: the one place this sample counts them.</summary>
    public static long ParameterCount(DiffTransformerLM model) => model.parameters().Sum(p => p.numel());
}
