using DiffTransformer;

namespace DiffTransformer.TrainingRun;

/// <summary>
/// The training run of this program, also compiled into the test project so that the test can resume a checkpoint of
/// it in-process: a 1-layer decoder of width 16 on a repeated byte text, float32, a checkpoint after every step.
/// </summary>
internal static class TinyRun
{
    public const int Seed = 1;

    public static DiffTransformerConfig Config { get; } = new()
    {
        Attention = AttentionKind.Differential, VocabSize = 256, EmbedDim = 16, NumLayers = 1, NumHeads = 2, MaxSequenceLength = 16,
    };

    public static TokenBatches Data()
    {
        var text = string.Concat(Enumerable.Repeat("the cat sees the moon. a dog hears the river. my friend finds a green tree. ", 20));
        return new TokenBatches(ByteTokenizer.Instance.Encode(text), batchSize: 4, time: 16, seed: 1);
    }

    /// <summary>The options; <paramref name="checkpoints"/> null saves no checkpoints.</summary>
    public static TrainingOptions Options(int steps, string? checkpoints) => new()
    {
        Steps = steps, WarmupSteps = 3, LearningRate = 1e-2, MinLearningRate = 1e-3,
        CheckpointDirectory = checkpoints, CheckpointInterval = 1, CheckpointsKept = 2,
    };
}
