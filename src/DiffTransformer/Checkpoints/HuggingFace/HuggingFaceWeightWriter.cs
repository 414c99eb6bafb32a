using DiffTransformer.Checkpoints;

using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Writes weights as <c>save_pretrained</c> does: one <c>model.safetensors</c>, or shards
/// <c>model-0000i-of-0000N.safetensors</c> planned by <see cref="HuggingFaceShardPlanner"/> plus
/// <c>model.safetensors.index.json</c> (<c>{"metadata": {"total_parameters": elements, "total_size": bytes},
/// "weight_map": {name: file}}</c>, sorted keys). Every file's header carries <c>__metadata__ {"format": "pt"}</c> and
/// its tensors in the safetensors reference order (by dtype alignment, then name). Floating tensors are stored in
/// <c>dtype</c> when given (converted one at a time while written), else in their own dtype. This writes into an
/// existing directory; <see cref="HuggingFaceDirectory.Save"/> makes the whole directory write atomic.
/// </summary>
internal static class HuggingFaceWeightWriter
{
    private static readonly IReadOnlyDictionary<string, string> Metadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// Writes <paramref name="tensors"/> (state-dict order, unique names, no two sharing storage) into
    /// <paramref name="directory"/> and returns the files written (shards first, then the index when there is one).
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        long maxShardSize = HuggingFaceShardPlanner.DefaultMaxShardSize, ScalarType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tensors);
        if (dtype is { } d && d is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64))
            throw new ArgumentException($"dtype must be a floating-point type (Float32, Float16, BFloat16, Float64); got {d}.", nameof(dtype));
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
            if (!byName.TryAdd(name, tensor))
                throw new ArgumentException($"tensors must have unique names; '{name}' is given twice.", nameof(tensors));

        ScalarType Stored(Tensor t) => dtype is { } f && is_floating_point(t) ? f : t.dtype;
        var sizes = tensors.Select(p => (p.Key, p.Value.numel() * Safetensors.ElementSize(Stored(p.Value)))).ToList();
        var shards = HuggingFaceShardPlanner.Plan(sizes, maxShardSize);
        var written = new List<string>();
        foreach (var shard in shards)
        {
            Safetensors.Save(Path.Combine(directory, shard.FileName), shard.Names.Select(n => KeyValuePair.Create(n, byName[n])), Metadata, dtype);
            written.Add(shard.FileName);
        }
        if (shards.Count > 1)
        {
            long totalSize = sizes.Sum(s => s.Item2);
            long totalParameters = tensors.Sum(p => p.Value.numel());
            byte[] index = SerializeIndex(shards, totalParameters, totalSize);
            AtomicFile.Write(Path.Combine(directory, HuggingFaceWeightIndex.IndexFileName), stream => stream.Write(index));
            written.Add(HuggingFaceWeightIndex.IndexFileName);
        }
        return written;
    }

    /// <summary>The index file for <paramref name="shards"/>, as transformers 4.57 writes it.</summary>
    public static byte[] SerializeIndex(IReadOnlyList<HuggingFaceShard> shards, long totalParameters, long totalSize) =>
        PythonJson.Document(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_parameters", totalParameters);
            w.WriteNumber("total_size", totalSize);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (name, file) in shards.SelectMany(s => s.Names.Select(n => (n, s.FileName))).OrderBy(p => p.n, StringComparer.Ordinal))
                w.WriteString(name, file);
            w.WriteEndObject();
            w.WriteEndObject();
        });
}
