using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// A Hugging Face model directory as a whole: <c>config.json</c>, optional <c>generation_config.json</c>, the weights
/// (<see cref="HuggingFaceWeightWriter"/>) and any extra files the caller adds (a tokenizer, say). Saving replaces the
/// directory atomically through <see cref="AtomicDirectory"/>: everything is written to a sibling directory first, so a
/// failed save leaves the previous directory exactly as it was. A directory may be replaced only when it holds nothing
/// but such files (config, generation config, weights, shards, index, and the caller's extra file names).
/// </summary>
internal static class HuggingFaceDirectory
{
    /// <summary>
    /// Writes <paramref name="config"/>, <paramref name="generation"/> (when not null), <paramref name="tensors"/>
    /// (state-dict order; see <see cref="HuggingFaceWeightWriter.Write"/> for <paramref name="maxShardSize"/> and
    /// <paramref name="dtype"/>) and <paramref name="extraFiles"/> (file name to bytes) as <paramref name="directory"/>.
    /// When <paramref name="dtype"/> is given, the config is written with it as <c>torch_dtype</c>; otherwise the caller
    /// keeps <paramref name="config"/>'s <c>DType</c> consistent with the tensors' dtype.
    /// </summary>
    public static void Save(string directory, HuggingFaceConfig config, HuggingFaceGenerationConfig? generation,
        IReadOnlyList<KeyValuePair<string, Tensor>> tensors, long maxShardSize = HuggingFaceShardPlanner.DefaultMaxShardSize,
        ScalarType? dtype = null, IReadOnlyDictionary<string, byte[]>? extraFiles = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        if (maxShardSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxShardSize), maxShardSize, $"maxShardSize must be a positive number of bytes; got {maxShardSize}.");
        foreach (string name in extraFiles?.Keys ?? Enumerable.Empty<string>())
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or ".." || OwnFile(name))
                throw new ArgumentException($"extraFiles names must be plain file names other than the model's own files; got '{name}'.", nameof(extraFiles));
        byte[] configBytes = HuggingFaceConfigWriter.Serialize(dtype is { } stored ? config with { DType = stored } : config);
        byte[]? generationBytes = generation?.Serialize();

        AtomicDirectory.Write(directory, ReplaceableFiles(directory, extraFiles), temp =>
        {
            HuggingFaceWeightWriter.Write(temp, tensors, maxShardSize, dtype);
            AtomicFile.Write(Path.Combine(temp, HuggingFaceConfigReader.FileName), s => s.Write(configBytes));
            if (generationBytes is not null)
                AtomicFile.Write(Path.Combine(temp, HuggingFaceGenerationConfig.FileName), s => s.Write(generationBytes));
            foreach (var (name, bytes) in extraFiles ?? new Dictionary<string, byte[]>())
                AtomicFile.Write(Path.Combine(temp, name), s => s.Write(bytes));
        }, nameof(directory));
    }

    /// <summary>True for the names a save of this type writes itself.</summary>
    public static bool OwnFile(string name) =>
        name is HuggingFaceConfigReader.FileName or HuggingFaceGenerationConfig.FileName or HuggingFaceWeightIndex.SingleFileName
            or HuggingFaceWeightIndex.IndexFileName
        || HuggingFaceShardPlanner.IsShardName(name);

    private static HashSet<string> ReplaceableFiles(string directory, IReadOnlyDictionary<string, byte[]>? extraFiles)
    {
        var names = new HashSet<string>(StringComparer.Ordinal)
        {
            HuggingFaceConfigReader.FileName, HuggingFaceGenerationConfig.FileName, HuggingFaceWeightIndex.SingleFileName,
            HuggingFaceWeightIndex.IndexFileName,
        };
        foreach (string name in extraFiles?.Keys ?? Enumerable.Empty<string>()) names.Add(name);
        if (Directory.Exists(directory))
            foreach (string entry in Directory.EnumerateFiles(directory).Select(Path.GetFileName).OfType<string>())
                if (HuggingFaceShardPlanner.IsShardName(entry)) names.Add(entry);
        return names;
    }
}
