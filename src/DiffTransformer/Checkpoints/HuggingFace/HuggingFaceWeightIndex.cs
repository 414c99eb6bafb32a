using DiffTransformer.Checkpoints;

using System.Text.Json;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The weights of a Hugging Face model directory, located and validated but not read: either one
/// <c>model.safetensors</c>, or shards listed by <c>model.safetensors.index.json</c>
/// (<c>{"metadata": {...}, "weight_map": {name: file}}</c>). <see cref="Open"/> reads every header and checks, before
/// any tensor data is read, that the headers are sound (<see cref="Safetensors.ReadHeader(string)"/>: truncated files,
/// lying sizes and offsets), that every shard the index names exists and holds exactly the tensors the index assigns to
/// it (so no tensor is missing from its shard, none is in two shards, and no shard holds a tensor the index does not
/// list), and that the index names plain files of the directory. A directory holding both
/// <c>model.safetensors</c> and an index is refused as ambiguous. Errors are <see cref="InvalidDataException"/>s naming
/// the file, the key and the value, all problems of the index at once. Tensors are then read by
/// <see cref="HuggingFaceWeightReader"/>.
/// </summary>
internal sealed class HuggingFaceWeightIndex
{
    /// <summary>The single-file weights name.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The shard index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private HuggingFaceWeightIndex(string directory, string? indexPath, Dictionary<string, HuggingFaceTensorLocation> tensors)
    {
        Directory = directory;
        IndexPath = indexPath;
        Tensors = tensors;
    }

    /// <summary>The model directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The index file when the weights are sharded, else null.</summary>
    public string? IndexPath { get; }

    /// <summary>Every stored tensor by name.</summary>
    public IReadOnlyDictionary<string, HuggingFaceTensorLocation> Tensors { get; }

    /// <summary>The weight files, in shard order.</summary>
    public IReadOnlyList<string> Files =>
        Tensors.Values.Select(l => l.Path).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>What a load is checked against: names, shapes and stored dtypes.</summary>
    public IEnumerable<(string Name, long[] Shape, ScalarType Type)> Entries =>
        Tensors.Select(p => (p.Key, p.Value.Shape, p.Value.StoredType));

    /// <summary>Locates and validates the weights of <paramref name="directory"/> (see the type's rules).</summary>
    /// <exception cref="FileNotFoundException">Neither weights file is there.</exception>
    /// <exception cref="InvalidDataException">A header or the index is damaged or inconsistent.</exception>
    public static HuggingFaceWeightIndex Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(full)) throw new DirectoryNotFoundException($"No model directory '{full}'.");
        string single = Path.Combine(full, SingleFileName);
        string index = Path.Combine(full, IndexFileName);
        bool hasSingle = File.Exists(single), hasIndex = File.Exists(index);
        if (hasSingle && hasIndex)
            throw new InvalidDataException(
                $"'{full}' holds both {SingleFileName} and {IndexFileName}; which one holds the weights is ambiguous, so remove the stale one.");
        if (hasSingle)
        {
            var header = Safetensors.ReadHeader(single);
            return new HuggingFaceWeightIndex(full, null,
                header.Entries.ToDictionary(e => e.Name, e => new HuggingFaceTensorLocation(single, header, e), StringComparer.Ordinal));
        }
        if (!hasIndex)
            throw new FileNotFoundException($"The model directory '{full}' has no {SingleFileName} and no {IndexFileName}.", single);
        return OpenSharded(full, index);
    }

    private static HuggingFaceWeightIndex OpenSharded(string directory, string index)
    {
        var weightMap = ReadWeightMap(index);
        var problems = new List<string>();
        var tensors = new Dictionary<string, HuggingFaceTensorLocation>(StringComparer.Ordinal);
        foreach (var shard in weightMap.GroupBy(p => p.Value, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            string file = shard.Key;
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                foreach (var (name, _) in shard.Take(3))
                    problems.Add($"weight_map['{name}'] = \"{file}\" names a shard that does not exist ('{path}')");
                continue;
            }
            var header = Safetensors.ReadHeader(path);
            var stored = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
            foreach (var (name, _) in shard)
            {
                if (stored.TryGetValue(name, out var entry)) tensors[name] = new HuggingFaceTensorLocation(path, header, entry);
                else problems.Add($"weight_map['{name}'] = \"{file}\", but '{path}' holds no tensor '{name}'");
            }
            foreach (var entry in header.Entries)
            {
                if (!weightMap.TryGetValue(entry.Name, out string? listed))
                    problems.Add($"'{path}' holds tensor '{entry.Name}', which the index does not list");
                else if (listed != file)
                    problems.Add($"'{path}' holds tensor '{entry.Name}', which the index places in \"{listed}\" (a tensor in two shards)");
            }
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"'{index}' does not match its shards: {string.Join("; ", problems)}.");
        return new HuggingFaceWeightIndex(directory, index, tensors);
    }

    /// <summary>The <c>weight_map</c> of an index file: tensor name to a plain file name of the same directory.</summary>
    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        using var document = StrictJson.Parse(File.ReadAllBytes(index), why => new InvalidDataException($"'{index}' is {why}."));
        var root = new HuggingFaceJsonFields(document.RootElement, index);
        if (!root.HasValue("weight_map")) throw root.Bad("weight_map", "is missing; an index maps every tensor name to its shard");
        if (root.HasValue("metadata")) _ = new HuggingFaceJsonFields(root.Raw("metadata"), index, "metadata."); // an object; its values are informative
        var map = new HuggingFaceJsonFields(root.Raw("weight_map"), index, "weight_map.");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in map.Keys)
        {
            var value = map.Raw(name);
            string? file = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (file is null || file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file.Contains('\\')
                || !file.EndsWith(".safetensors", StringComparison.Ordinal))
                throw new InvalidDataException(
                    $"'{index}': weight_map['{name}'] = {HuggingFaceJsonFields.Describe(value)} must be the name of a .safetensors file in the same directory.");
            result[name] = file;
        }
        if (result.Count == 0) throw root.Bad("weight_map", "lists no tensors");
        return result;
    }
}
