using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Checkpoints;

/// <summary>
/// A strict reader and writer of the safetensors format (8-byte little-endian header size, a JSON header, raw
/// little-endian data), the format PyTorch and Hugging Face use to exchange weights. Reading checks the whole header
/// (sizes, offsets, dtypes, duplicates, holes) against the file's length before allocating any tensor; writing goes to
/// a temporary file that replaces the target only when complete.
/// </summary>
public static class Safetensors
{
    /// <summary>Largest header accepted (the format's reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int CopyChunk = 1 << 22;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> Types = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>One tensor's entry in a safetensors header.</summary>
    /// <param name="Name">Tensor name.</param>
    /// <param name="DType">Safetensors dtype name (<c>F32</c>, <c>BF16</c>, ...).</param>
    /// <param name="Shape">Tensor shape.</param>
    /// <param name="Begin">Start offset in the data section.</param>
    /// <param name="End">End offset (exclusive) in the data section.</param>
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End)
    {
        /// <summary>The TorchSharp dtype of this entry.</summary>
        public ScalarType ScalarType => Types[DType].Type;
    }

    /// <summary>A validated header: entries in data order and the <c>__metadata__</c> strings.</summary>
    /// <param name="Entries">Tensor entries sorted by offset.</param>
    /// <param name="Metadata">String metadata (empty when absent).</param>
    /// <param name="DataStart">File offset of the data section.</param>
    public sealed record Header(IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);

    /// <summary>Reads and validates the header of <paramref name="path"/> without reading tensor data.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static Header ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Loads every tensor of <paramref name="path"/> onto the CPU. The caller owns the tensors.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, include: null);

    /// <summary>
    /// Loads the tensors of <paramref name="path"/> whose names <paramref name="include"/> accepts (all when null) onto
    /// the CPU. The whole header is validated first, so a damaged file fails before any tensor is allocated.
    /// The caller owns the tensors.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? include)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path, include);
    }

    /// <summary>Loads the tensors of the open safetensors file <paramref name="stream"/>, named <paramref name="path"/> in errors.</summary>
    internal static Dictionary<string, Tensor> Load(Stream stream, string path, Func<string, bool>? include)
    {
        var header = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in header.Entries)
                if (include is null || include(entry.Name))
                    result[entry.Name] = ReadTensor(stream, header.DataStart, entry);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device and dtype the format supports) to <paramref name="path"/> in the
    /// reference writer's order (largest alignment first, then name), atomically: a crash leaves either the old file or
    /// the new one.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) => Save(path, tensors, metadata, floatingType: null);

    /// <summary>
    /// <see cref="Save(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/>, storing
    /// floating-point tensors as <paramref name="floatingType"/> when it is given (each tensor is converted on its own
    /// while it is written, so no converted copy of the whole set exists).
    /// </summary>
    internal static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, ScalarType? floatingType)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ScalarType TypeOf(Tensor t) => floatingType is { } f && is_floating_point(t) ? f : t.dtype;
        // The reference writer's order: dtype by descending alignment, then name. It keeps every tensor aligned to its
        // element size, which zero-copy readers rely on.
        var sorted = tensors.Select(p => (Name: p.Key, Tensor: p.Value, Type: TypeOf(p.Value)))
            .OrderByDescending(p => WriteRank(p.Type)).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _, type) in sorted)
        {
            if (name == MetadataKey || !names.Add(name))
                throw new ArgumentException($"Tensor names must be unique and not '{MetadataKey}'; got '{name}' twice or reserved.", nameof(tensors));
            if (!Types.Values.Any(t => t.Type == type))
                throw new ArgumentException($"Tensor '{name}' has dtype {type}, which safetensors cannot store.", nameof(tensors));
        }

        byte[] headerBytes = BuildHeader(sorted, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> size = stackalloc byte[8];
            BitConverter.TryWriteBytes(size, (ulong)headerBytes.Length);
            stream.Write(size);
            stream.Write(headerBytes);
            foreach (var (_, tensor, type) in sorted) WriteTensor(stream, tensor, type);
        });
    }

    /// <summary>Bytes one element of <paramref name="type"/> takes in a file.</summary>
    internal static int ElementSize(ScalarType type) => Types.Values.First(t => t.Type == type).Size;

    /// <summary>Position of the dtype in the reference implementation's <c>Dtype</c> enum (ordered by alignment).</summary>
    private static int WriteRank(ScalarType type) => type switch
    {
        ScalarType.Bool => 0, ScalarType.Byte => 1, ScalarType.Int8 => 2, ScalarType.Int16 => 5, ScalarType.Float16 => 7,
        ScalarType.BFloat16 => 8, ScalarType.Int32 => 9, ScalarType.Float32 => 11, ScalarType.Float64 => 12, ScalarType.Int64 => 13,
        _ => -1, // rejected before writing
    };

    private static byte[] BuildHeader(List<(string Name, Tensor Tensor, ScalarType Type)> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, type) in sorted)
            {
                long bytes = tensor.numel() * ElementSize(type);
                writer.WriteStartObject(name);
                writer.WriteString("dtype", Types.First(t => t.Value.Type == type).Key);
                writer.WriteStartArray("shape");
                foreach (long d in tensor.shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + bytes);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += bytes;
            }
            writer.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned.
        int padded = (int)((json.Length + 7) / 8 * 8);
        var header = new byte[padded];
        Array.Fill(header, (byte)' ');
        json.ToArray().CopyTo(header, 0);
        return header;
    }

    /// <summary>Reads and validates the header of the open safetensors file <paramref name="stream"/>, named <paramref name="path"/>.</summary>
    internal static Header ReadHeader(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw Bad(path, $"the file has {fileLength} bytes, fewer than the 8-byte header size");
        Span<byte> sizeBytes = stackalloc byte[8];
        stream.ReadExactly(sizeBytes);
        ulong headerSize = BitConverter.ToUInt64(sizeBytes);
        if (headerSize > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
            throw Bad(path, $"the header claims {headerSize} bytes but the file holds {fileLength - 8} after the size field (limit {MaxHeaderBytes})");
        var headerBytes = new byte[headerSize];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerSize;
        long dataLength = fileLength - dataStart;

        using (var document = StrictJson.Parse(headerBytes, why => Bad(path, "the header is " + why)))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "the header is not a JSON object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw Bad(path, $"the header names '{property.Name}' twice");
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata, path);
                else entries.Add(ReadEntry(property, dataLength, path));
            }
            // By (begin, end): an empty tensor sits at the offset where the next one begins, and must come first.
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var entry in entries)
            {
                if (entry.Begin != expected)
                    throw Bad(path, $"tensor '{entry.Name}' starts at data offset {entry.Begin}, expected {expected} (overlap or hole)");
                expected = entry.End;
            }
            if (expected != dataLength)
                throw Bad(path, $"the tensors cover {expected} data bytes but the file holds {dataLength}");
            return new Header(entries, metadata, dataStart);
        }
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string path)
    {
        if (element.ValueKind != JsonValueKind.Object) throw Bad(path, $"'{MetadataKey}' is not an object");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"metadata '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ReadEntry(JsonProperty property, long dataLength, string path)
    {
        string name = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, $"entry '{name}' is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad(path, $"entry '{name}' has no string 'dtype'");
        string dtype = dtypeElement.GetString()!;
        if (!Types.TryGetValue(dtype, out var type))
            throw Bad(path, $"entry '{name}' has unsupported dtype '{dtype}' (supported: {string.Join(", ", Types.Keys)})");
        long[] shape = ReadLongs(value, "shape", name, path);
        long[] offsets = ReadLongs(value, "data_offsets", name, path);
        if (offsets.Length != 2) throw Bad(path, $"entry '{name}' must have two data_offsets; got {offsets.Length}");
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw Bad(path, $"entry '{name}' has a negative dimension in shape [{string.Join(", ", shape)}]");
            if (d != 0 && count > long.MaxValue / d / 8) throw Bad(path, $"entry '{name}' has an absurd shape [{string.Join(", ", shape)}]");
            count *= d;
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(path, $"entry '{name}' has data_offsets [{begin}, {end}] outside the {dataLength}-byte data section");
        if (end - begin != count * type.Size)
            throw Bad(path, $"entry '{name}' ({dtype} [{string.Join(", ", shape)}]) needs {count * type.Size} bytes but its offsets span {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] ReadLongs(JsonElement value, string field, string name, string path)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"entry '{name}' has no array '{field}'");
        var result = new List<long>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long n))
                throw Bad(path, $"entry '{name}' has a non-integer in '{field}'");
            result.Add(n);
        }
        return result.ToArray();
    }

    private static Tensor ReadTensor(Stream stream, long dataStart, Entry entry)
    {
        var tensor = empty(entry.Shape, entry.ScalarType);
        try
        {
            stream.Seek(dataStart + entry.Begin, SeekOrigin.Begin);
            if (entry.End > entry.Begin) TensorBytes.Read(stream, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void WriteTensor(Stream stream, Tensor tensor, ScalarType type)
    {
        using var scope = NewDisposeScope();
        var data = tensor.detach().cpu().to(type).contiguous();
        if (data.numel() > 0) data.WriteBytesToStream(stream, CopyChunk);
    }

    private static InvalidDataException Bad(string path, string why) =>
        new($"'{path}' is not a valid safetensors file: {why}.");
}
