using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Checkpoints;

/// <summary>
/// Saves and loads a module's state dict (parameters and persistent buffers, under the module's own key names) as
/// safetensors. Loading is strict by default: every key must be present with the module's shape and dtype and nothing
/// else may be in the file, otherwise a <see cref="CheckpointMismatchException"/> lists every problem and the module is
/// left unchanged. With <c>strict: false</c> whatever fits is loaded and the rest is returned in the report.
/// </summary>
public static class ModuleWeights
{
    /// <summary>
    /// Writes <paramref name="module"/>'s state dict to <paramref name="path"/> (atomically), in the tensors' own dtypes,
    /// with <c>__metadata__</c> <c>{"format": "pt"}</c> plus <paramref name="metadata"/>.
    /// </summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var all = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null)
            foreach (var (key, value) in metadata) all[key] = value;
        Safetensors.Save(path, module.state_dict(), all);
    }

    /// <summary>
    /// Loads the safetensors file <paramref name="path"/> into <paramref name="module"/> (onto the module's devices).
    /// The header is checked against the module before any tensor data is read.
    /// </summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="path">A safetensors file.</param>
    /// <param name="strict">When true (default), any missing, unexpected, wrongly shaped or wrongly typed key throws.</param>
    /// <param name="convertDTypes">When true, floating-point tensors load into floating-point parameters of another
    /// dtype (rounded as <c>copy_</c> rounds); otherwise a dtype difference is a mismatch.</param>
    /// <exception cref="CheckpointMismatchException">Strict load and the file does not fit; the module is unchanged.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="module"/> is a <see cref="DiffTransformerLM"/> on which
    /// inference runs (on another thread); the module is unchanged.</exception>
    public static WeightLoadReport Load(nn.Module module, string path, bool strict = true, bool convertDTypes = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var target = module.state_dict();
        var (report, tensors) = Read(target, path, strict, convertDTypes, nameof(path));
        try
        {
            Copy(module, target, tensors, report.Loaded);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return report;
    }

    /// <summary>
    /// Loads <paramref name="tensors"/> (name to tensor, any device) into <paramref name="module"/> with the rules of
    /// <see cref="Load(nn.Module, string, bool, bool)"/>. The caller keeps ownership of <paramref name="tensors"/>.
    /// </summary>
    public static WeightLoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, bool strict = true,
        bool convertDTypes = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        var target = module.state_dict();
        var report = Compare(target, tensors.Select(p => (p.Key, p.Value.shape, p.Value.dtype)), convertDTypes);
        if (strict && !report.IsExact) throw new CheckpointMismatchException(nameof(tensors), report, nameof(tensors));
        Copy(module, target, tensors, report.Loaded);
        return report;
    }

    /// <summary>
    /// The first half of every load from a file: checks the header of <paramref name="path"/> against
    /// <paramref name="target"/> (throwing <see cref="CheckpointMismatchException"/> for <paramref name="parameterName"/>
    /// when <paramref name="strict"/> and it does not fit) and reads the tensors that fit. Changes nothing; the caller
    /// copies them in and disposes them.
    /// </summary>
    internal static (WeightLoadReport Report, Dictionary<string, Tensor> Tensors) Read(Dictionary<string, Tensor> target,
        string path, bool strict, bool convertDTypes, string parameterName)
    {
        var header = Safetensors.ReadHeader(path);
        var report = Compare(target, header.Entries.Select(e => (e.Name, e.Shape, e.ScalarType)), convertDTypes);
        if (strict && !report.IsExact) throw new CheckpointMismatchException(path, report, parameterName);
        var wanted = report.Loaded.ToHashSet(StringComparer.Ordinal);
        return (report, Safetensors.Load(path, wanted.Contains));
    }

    internal static WeightLoadReport Compare(Dictionary<string, Tensor> target,
        IEnumerable<(string Name, long[] Shape, ScalarType Type)> source, bool convertDTypes)
    {
        var loaded = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<KeyMismatch>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape, type) in source.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            seen.Add(name);
            if (!target.TryGetValue(name, out var tensor))
            {
                unexpected.Add(name);
                continue;
            }
            bool sameShape = tensor.shape.SequenceEqual(shape);
            bool typeFits = tensor.dtype == type
                || (convertDTypes && is_floating_point(tensor) && IsFloating(type));
            if (sameShape && typeFits) loaded.Add(name);
            else mismatched.Add(new KeyMismatch(name, tensor.shape, tensor.dtype, shape, type));
        }
        var missing = target.Keys.Where(k => !seen.Contains(k)).Order(StringComparer.Ordinal).ToList();
        return new WeightLoadReport(loaded, missing, unexpected, mismatched);
    }

    /// <summary>
    /// Copies the loaded tensors in; into a <see cref="DiffTransformerLM"/> as a weight update, which refuses to overlap
    /// inference on it (<see cref="InvalidOperationException"/>).
    /// </summary>
    private static void Copy(nn.Module module, Dictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> source, IEnumerable<string> keys)
    {
        var weights = (module as DiffTransformerLM)?.WeightGuard;
        weights?.EnterUpdate($"{nameof(ModuleWeights)}.{nameof(Load)}");
        try
        {
            using var noGrad = no_grad();
            foreach (string key in keys) target[key].copy_(source[key]);
        }
        finally
        {
            weights?.ExitUpdate();
        }
    }

    private static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;
}
