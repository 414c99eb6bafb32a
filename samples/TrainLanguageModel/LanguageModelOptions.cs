using DiffTransformer;

namespace TrainLanguageModel;

/// <summary>Settings of one training run. The defaults train a small V1 model on the generated corpus in a minute or two.</summary>
public sealed record LanguageModelOptions
{
    /// <summary>A UTF-8 text file to train on; null trains on a generated corpus.</summary>
    public string? DataPath { get; init; }

    /// <summary>"byte" or "cl100k" (also "bytes" or "cl100k_base", the names checkpoints record).</summary>
    public string Tokenizer { get; init; } = "byte";

    /// <summary>Attention of the model.</summary>
    public AttentionKind Attention { get; init; } = AttentionKind.Differential;

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 400;

    /// <summary>Seed of the batches and the initial weights.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Where the checkpoint (and the report) go; the checkpoint is the sub-directory "checkpoint".</summary>
    public string OutputDirectory { get; init; } = "lm-run";

    /// <summary>Text the model continues after training.</summary>
    public string Prompt { get; init; } = "The ";

    /// <summary>Tokens to generate.</summary>
    public int GenerateTokens { get; init; } = 120;

    /// <summary>Model width.</summary>
    public int EmbedDim { get; init; } = 128;

    /// <summary>Blocks.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Heads (as the attention kind counts them; the softmax model gets twice the V1 count for equal size).</summary>
    public int Heads { get; init; } = 2;

    /// <summary>Tokens per training window.</summary>
    public int Context { get; init; } = 64;

    /// <summary>Windows per batch.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>Validation every this many steps (and after the last).</summary>
    public int EvaluationInterval { get; init; } = 100;

    /// <summary>LibTorch CPU threads.</summary>
    public int Threads { get; init; } = 1;
}
