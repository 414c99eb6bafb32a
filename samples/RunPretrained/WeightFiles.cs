using System.Globalization;
using System.Text.Json;

namespace RunPretrained;

/// <summary>The safetensors files a Hugging Face directory's weights are in, and their size, for the load display.</summary>
public static class WeightFiles
{
    /// <summary>The shard index transformers writes next to sharded weights.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>The single weight file of an unsharded directory.</summary>
    public const string SingleFile = "model.safetensors";

    /// <summary>
    /// The files named by <see cref="IndexFile"/>'s <c>weight_map</c> when it exists, else <see cref="SingleFile"/>;
    /// only those that exist (the loader itself explains a missing one). Other safetensors files are not weights.
    /// </summary>
    public static IReadOnlyList<FileInfo> In(string directory)
    {
        string index = Path.Combine(directory, IndexFile);
        IEnumerable<string> names = [SingleFile];
        if (File.Exists(index))
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(index));
                if (document.RootElement.TryGetProperty("weight_map", out var map) && map.ValueKind == JsonValueKind.Object)
                    names = map.EnumerateObject().Select(entry => entry.Value.GetString() ?? "").Distinct().Order(StringComparer.Ordinal).ToList();
            }
            catch (JsonException)
            {
                // HuggingFaceCheckpoint.Load reports a broken index with its file name.
            }
        }
        return names.Where(name => name.Length > 0).Select(name => new FileInfo(Path.Combine(directory, name))).Where(f => f.Exists).ToList();
    }

    /// <summary>A byte count as people read it: 586.4 KB, 1.3 GB (powers of 1000, as the Hugging Face Hub shows sizes).</summary>
    public static string Size(long bytes)
    {
        string[] units = ["bytes", "KB", "MB", "GB", "TB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes") : string.Create(CultureInfo.InvariantCulture, $"{value:F1} {units[unit]}");
    }
}
