using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// The checkpoints of the loading section: a Llama-shaped softmax model and a DiffLlama-shaped V1 model of about a given
/// parameter count, each saved with <see cref="HuggingFaceCheckpoint.Save"/> in float32 and bf16, as one file and as
/// shards of about a third of the weights each.
/// </summary>
public static class LoadingCheckpoints
{
    /// <summary>Decoder layers of every size (width and vocabulary grow with the parameter count).</summary>
    public const int Layers = 8;

    /// <summary>The two models, by Hugging Face <c>model_type</c>.</summary>
    public static readonly IReadOnlyList<(string Model, AttentionKind Kind)> Models =
        [("llama", AttentionKind.Softmax), ("diffllama", AttentionKind.Differential)];

    /// <summary>The stored dtypes.</summary>
    public static readonly IReadOnlyList<ScalarType> StoredTypes = [ScalarType.Float32, ScalarType.BFloat16];

    /// <summary>
    /// A model of <paramref name="kind"/> with about <paramref name="parameters"/> parameters: <see cref="Layers"/> layers,
    /// the width (a multiple of 128, at least 128) whose count comes closest, heads of 64 (V1: sub-heads of 64, so half the
    /// heads), no GQA, SwiGLU of the default 8/3 width, and a vocabulary of 32000 at width 768, in proportion otherwise;
    /// untied, as Llama. 100M gives width 768 and vocabulary 32000 (about 106M).
    /// </summary>
    public static DiffTransformerConfig Config(AttentionKind kind, long parameters)
    {
        int width = Enumerable.Range(1, 32).Select(k => 128 * k)
            .MinBy(w => Math.Abs(Math.Log(Shape(kind, w, Layers, Vocab(w)).ApproximateParameters() / (double)parameters)));
        return Shape(kind, width, Layers, Vocab(width));
    }

    /// <summary>
    /// Saves both models in both dtypes, single-file and sharded, under <paramref name="root"/>, plus a tiny model per type
    /// and dtype for the child's warm-up load, and returns the directories in table order.
    /// </summary>
    public static IReadOnlyList<LoadingCheckpoint> Generate(string root, long parameters, Action<string> log)
    {
        var result = new List<LoadingCheckpoint>();
        foreach (var (name, kind) in Models)
        {
            manual_seed(1234);
            using var model = new DiffTransformerLM(Config(kind, parameters));
            using var warm = new DiffTransformerLM(Shape(kind, 128, 1, 256));
            long count = LayerVariants.ParameterCount(model);
            foreach (var stored in StoredTypes)
            {
                string warmDirectory = Path.Combine(root, $"{name}-{stored}-warm");
                HuggingFaceCheckpoint.Save(warm, warmDirectory, new HuggingFaceSaveOptions { DType = stored });
                LoadingCheckpoint Save(string directory, long maxShardSize)
                {
                    log($"loading: saving {Path.GetFileName(directory)} ({count:N0} parameters)");
                    HuggingFaceCheckpoint.Save(model, directory, new HuggingFaceSaveOptions { DType = stored, MaxShardSizeBytes = maxShardSize });
                    var files = Directory.GetFiles(directory, "*.safetensors");
                    return new LoadingCheckpoint(name, stored, directory, warmDirectory, files.Length, files.Sum(f => new FileInfo(f).Length), count);
                }
                var single = Save(Path.Combine(root, $"{name}-{stored}-single"), new HuggingFaceSaveOptions().MaxShardSizeBytes);
                var sharded = Save(Path.Combine(root, $"{name}-{stored}-sharded"), single.FileBytes / 3);
                result.Add(single);
                result.Add(sharded);
            }
        }
        return result;
    }

    /// <summary>Reads every weight file under <paramref name="root"/> once, so that the loads read from the page cache.</summary>
    public static void ReadIntoPageCache(string root)
    {
        var buffer = new byte[1 << 22];
        foreach (string file in Directory.EnumerateFiles(root, "*.safetensors", SearchOption.AllDirectories))
        {
            using var stream = File.OpenRead(file);
            while (stream.Read(buffer) > 0) { }
        }
    }

    private static int Vocab(int width) => (int)Math.Round(32000.0 * width / 768 / 64) * 64;

    private static DiffTransformerConfig Shape(AttentionKind kind, int width, int layers, int vocab) => new()
    {
        Attention = kind,
        VocabSize = vocab,
        EmbedDim = width,
        NumLayers = layers,
        NumHeads = kind == AttentionKind.Differential ? width / 128 : width / 64,
        NumKvHeads = kind == AttentionKind.Differential ? width / 128 : width / 64,
        MaxSequenceLength = 2048,
    };

    /// <summary>Embeddings and output layer, q/k/v/o and SwiGLU per layer (norms and V1's lambdas left out).</summary>
    private static double ApproximateParameters(this DiffTransformerConfig c) =>
        2.0 * c.VocabSize * c.EmbedDim + c.NumLayers * (4.0 * c.EmbedDim * c.EmbedDim + 3.0 * c.EmbedDim * c.ResolvedFfnHiddenDim);
}
