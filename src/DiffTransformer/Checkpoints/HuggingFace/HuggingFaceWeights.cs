using DiffTransformer.Checkpoints;

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Moves a model's tensors between a <see cref="DiffTransformerLM"/> and a Hugging Face checkpoint, by a <see cref="HuggingFaceModelMap"/> table.</summary>
internal static class HuggingFaceWeights
{
    private const string TiedHead = "lm_head.weight";

    /// <summary>
    /// Reads every tensor of <paramref name="table"/> from <paramref name="index"/> into <paramref name="model"/>'s
    /// parameters, each once: tensors with the same rows straight into the parameter, permuted ones through one
    /// temporary each. Names, shapes and dtypes are checked first, every problem at once
    /// (<see cref="CheckpointMismatchException"/>). A checkpoint of a tied model may still store <c>lm_head.weight</c>:
    /// it is not read. Tensors the checkpoint does not store (DiffLlama's weightless per-head norm) become ones.
    /// </summary>
    public static void Read(DiffTransformerLM model, HuggingFaceWeightIndex index, IReadOnlyList<HuggingFaceTensor> table,
        IProgress<HuggingFaceLoadProgress>? progress = null)
    {
        var state = model.state_dict();
        var stored = table.Where(t => t.Theirs is not null).ToList();
        var expected = stored.ToDictionary(t => t.Theirs!, t => state[t.Ours], StringComparer.Ordinal);
        var skipped = new HashSet<string>(StringComparer.Ordinal);
        if (model.Config.TieEmbeddings && index.Tensors.ContainsKey(TiedHead)) skipped.Add(TiedHead);
        var report = ModuleWeights.Compare(expected, index.Entries.Where(e => !skipped.Contains(e.Name)), convertDTypes: true);
        if (!report.IsExact) throw new CheckpointMismatchException(index.IndexPath ?? index.Directory, report, "directory");

        long totalBytes = stored.Sum(t => StoredBytes(index, t.Theirs!)), bytesRead = 0;
        int tensorsRead = 0;
        void Read(long bytes) => progress?.Report(new(bytesRead += bytes, totalBytes, ++tensorsRead, stored.Count));

        var permuted = stored.Where(t => t.Layout is not null).ToList();
        var direct = stored.Where(t => t.Layout is null).ToDictionary(t => t.Theirs!, t => state[t.Ours], StringComparer.Ordinal);
        HuggingFaceWeightReader.ReadInto(index, direct, new HashSet<string>(skipped.Concat(permuted.Select(t => t.Theirs!)), StringComparer.Ordinal), Read);
        using var noGrad = no_grad();
        foreach (var tensor in permuted)
        {
            var parameter = state[tensor.Ours];
            using var scope = NewDisposeScope();
            var read = HuggingFaceWeightReader.Read(index, tensor.Theirs!, parameter.dtype);
            parameter.copy_(tensor.Layout!.FromCheckpoint(read));
            Read(StoredBytes(index, tensor.Theirs!));
        }
        foreach (var unstored in table.Where(t => t.Theirs is null)) state[unstored.Ours].fill_(ScalarMath.One);
    }

    private static long StoredBytes(HuggingFaceWeightIndex index, string name)
    {
        var entry = index.Tensors[name].Entry;
        return entry.End - entry.Begin;
    }

    /// <summary>
    /// The checkpoint's tensors of <paramref name="model"/> (name, tensor) in <paramref name="table"/>'s order: rows
    /// permuted back, per-head norm weights folded into <c>o_proj</c>. Tensors are new or views; they live in the
    /// caller's dispose scope.
    /// </summary>
    public static List<KeyValuePair<string, Tensor>> Stored(DiffTransformerLM model, IReadOnlyList<HuggingFaceTensor> table)
    {
        var state = model.state_dict();
        var result = new List<KeyValuePair<string, Tensor>>();
        using var noGrad = no_grad();
        foreach (var tensor in table.Where(t => t.Theirs is not null))
        {
            var value = state[tensor.Ours].detach();
            if (tensor.Layout is not null) value = tensor.Layout.ToCheckpoint(value);
            if (tensor.ColumnScale is { } scaleKey)
            {
                var scale = state[scaleKey];
                value = value * scale.repeat(value.shape[1] / scale.shape[0]);
            }
            result.Add(KeyValuePair.Create(tensor.Theirs!, value));
        }
        return result;
    }
}
