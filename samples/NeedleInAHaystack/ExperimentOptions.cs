using DiffTransformer.Retrieval;
namespace NeedleInAHaystack;

/// <summary>Settings of one comparison run. The defaults are the README's run.</summary>
public sealed record ExperimentOptions
{
    /// <summary>Optimizer steps per model.</summary>
    public int Steps { get; init; } = 400;

    /// <summary>Seed of the data and of every model's initial weights.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Where the PNG files and the results table are written.</summary>
    public string OutputDirectory { get; init; } = "needle-results";

    /// <summary>Validation (loss and accuracy) every this many steps, for the curves.</summary>
    public int EvaluationInterval { get; init; } = 50;

    /// <summary>Width of every model.</summary>
    public int EmbedDim { get; init; } = 64;

    /// <summary>Blocks of every model.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Heads of the V1 model; the softmax baseline and V2 get twice as many (see <see cref="ModelLineup"/>).</summary>
    public int DiffHeads { get; init; } = 2;

    /// <summary>Input tokens per example.</summary>
    public int SequenceLength { get; init; } = 64;

    /// <summary>Needles per example (one queried).</summary>
    public int Needles { get; init; } = 6;

    /// <summary>
    /// Whether every key has its own value tokens (one-hop retrieval, learnable in a few hundred steps) or all keys share
    /// them (two-hop retrieval through an induction circuit, which these tiny models did not learn within 900 steps in
    /// our runs); see <see cref="DiffTransformer.NeedleTaskOptions.KeyedValues"/>.
    /// </summary>
    public bool KeyedValues { get; init; } = true;

    /// <summary>Examples per training batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Fixed validation examples.</summary>
    public int ValidationExamples { get; init; } = 512;

    /// <summary>Peak learning rate (warm-up, then cosine decay to a tenth).</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Learning rate at the end of the cosine decay, as a share of <see cref="LearningRate"/>.</summary>
    public double FinalLearningRateShare { get; init; } = 0.1;

    /// <summary>AdamW weight decay of the matrices.</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>Warm-up steps (at most a tenth of the run is used).</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>LibTorch intra-op threads (tiny models run fastest on one).</summary>
    public int Threads { get; init; } = 1;
}
