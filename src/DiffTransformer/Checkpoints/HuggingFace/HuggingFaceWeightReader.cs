using DiffTransformer.Checkpoints;

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Reads the tensors of a validated <see cref="HuggingFaceWeightIndex"/>, each once, from its file straight into its
/// destination. Stored F32, F16, BF16 (and F64) read into any floating dtype on any device: a CPU, contiguous
/// destination of the stored dtype receives the file's bytes directly; otherwise one temporary CPU tensor of the stored
/// dtype (that tensor's size, never the model's) is read and copied in with <c>copy_</c>, which rounds to nearest-even
/// when narrowing and is exact when widening (BF16 and F16 to float32). So a BF16 checkpoint read as bfloat16 makes no
/// float32 copy, and the added peak memory of a load is one tensor.
/// </summary>
internal static class HuggingFaceWeightReader
{
    /// <summary>
    /// Reads every stored tensor into <paramref name="destinations"/> (name to tensor, any floating dtype and device;
    /// their shapes must equal the stored ones), skipping the stored names in <paramref name="skip"/>. The names, shapes
    /// and dtypes are checked first and every problem is reported at once in a <see cref="CheckpointMismatchException"/>
    /// (missing, unexpected, wrongly shaped, or not floating-point), before any destination is written. An I/O failure
    /// while reading (the files changed underneath) can leave destinations partly written, so callers load into fresh
    /// tensors and discard them on failure. <paramref name="tensorRead"/> is told the stored bytes of each tensor read.
    /// </summary>
    public static void ReadInto(HuggingFaceWeightIndex index, IReadOnlyDictionary<string, Tensor> destinations,
        IReadOnlySet<string>? skip = null, Action<long>? tensorRead = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(destinations);
        var target = destinations.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var source = index.Entries.Where(e => skip is null || !skip.Contains(e.Name));
        var report = ModuleWeights.Compare(target, source, convertDTypes: true);
        if (!report.IsExact) throw new CheckpointMismatchException(index.IndexPath ?? index.Directory, report, nameof(destinations));
        foreach (var group in index.Tensors.Where(p => target.ContainsKey(p.Key)).GroupBy(p => p.Value.Path))
        {
            using var stream = File.OpenRead(group.Key);
            foreach (var (name, location) in group.OrderBy(p => p.Value.Entry.Begin))
            {
                ReadEntry(stream, location, target[name]);
                tensorRead?.Invoke(location.Entry.End - location.Entry.Begin);
            }
        }
    }

    /// <summary>
    /// Reads every stored tensor as a new tensor of <paramref name="dtype"/> on <paramref name="device"/> (CPU when
    /// null). The caller owns the tensors; on any failure none is returned (those read are disposed).
    /// </summary>
    /// <exception cref="InvalidDataException">A stored tensor is not floating-point.</exception>
    public static Dictionary<string, Tensor> ReadAll(HuggingFaceWeightIndex index, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        RequireFloating(dtype);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var group in index.Tensors.GroupBy(p => p.Value.Path))
            {
                using var stream = File.OpenRead(group.Key);
                foreach (var (name, location) in group.OrderBy(p => p.Value.Entry.Begin))
                    result[name] = ReadNew(stream, name, location, dtype, device);
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>Reads the stored tensor <paramref name="name"/> as a new tensor of <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public static Tensor Read(HuggingFaceWeightIndex index, string name, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        RequireFloating(dtype);
        if (!index.Tensors.TryGetValue(name, out var location))
            throw new KeyNotFoundException($"'{index.IndexPath ?? index.Directory}' holds no tensor '{name}'.");
        using var stream = File.OpenRead(location.Path);
        return ReadNew(stream, name, location, dtype, device);
    }

    private static Tensor ReadNew(Stream stream, string name, HuggingFaceTensorLocation location, ScalarType dtype, Device? device)
    {
        if (!IsFloating(location.StoredType))
            throw new InvalidDataException(
                $"'{location.Path}': tensor '{name}' is stored as {location.Entry.DType}, not as a floating-point type (F32, F16, BF16, F64).");
        var tensor = empty(location.Shape, dtype, device);
        try
        {
            ReadEntry(stream, location, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Reads one entry of the open file <paramref name="stream"/> into <paramref name="destination"/> (same shape).</summary>
    private static void ReadEntry(Stream stream, HuggingFaceTensorLocation location, Tensor destination)
    {
        var entry = location.Entry;
        stream.Seek(location.Header.DataStart + entry.Begin, SeekOrigin.Begin);
        if (entry.End == entry.Begin) return;
        using var noGrad = no_grad();
        if (destination.dtype == entry.ScalarType && destination.device_type == DeviceType.CPU && destination.is_contiguous())
        {
            TensorBytes.Read(stream, destination);
            return;
        }
        using var staging = empty(entry.Shape, entry.ScalarType);
        TensorBytes.Read(stream, staging);
        destination.copy_(staging);
    }

    private static void RequireFloating(ScalarType dtype)
    {
        if (!IsFloating(dtype))
            throw new ArgumentException($"dtype must be a floating-point type (Float32, Float16, BFloat16, Float64); got {dtype}.", nameof(dtype));
    }

    private static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;
}
