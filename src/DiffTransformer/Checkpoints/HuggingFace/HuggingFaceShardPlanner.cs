using System.Globalization;

namespace DiffTransformer;

/// <summary>
/// Splits tensors into weight files the way transformers' <c>save_pretrained</c> does (huggingface_hub's
/// <c>split_state_dict_into_shards</c>): tensors are taken in state-dict order and added to the current shard until
/// the next one would take it over the maximum size, which starts a new shard; a tensor larger than the maximum on its
/// own gets a shard of its own, placed where it occurs (before the shard being filled is closed). One shard is written
/// as <c>model.safetensors</c>; more are named <c>model-00001-of-0000N.safetensors</c> and listed by an index.
/// </summary>
internal static class HuggingFaceShardPlanner
{
    /// <summary>transformers' default maximum shard size, "5GB" (decimal).</summary>
    public const long DefaultMaxShardSize = 5_000_000_000;

    /// <summary>The shards for <paramref name="tensors"/> (name and data bytes, in state-dict order).</summary>
    public static IReadOnlyList<HuggingFaceShard> Plan(IReadOnlyList<(string Name, long Bytes)> tensors, long maxShardSize)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (maxShardSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxShardSize), maxShardSize, $"maxShardSize must be a positive number of bytes; got {maxShardSize}.");
        if (tensors.Count == 0) throw new ArgumentException("tensors must not be empty; got no tensors to save.", nameof(tensors));
        var groups = new List<(List<string> Names, long Bytes)>();
        var current = new List<string>();
        long currentBytes = 0;
        foreach (var (name, bytes) in tensors)
        {
            if (bytes > maxShardSize)
            {
                groups.Add((new List<string> { name }, bytes));
                continue;
            }
            if (currentBytes + bytes > maxShardSize && current.Count > 0)
            {
                groups.Add((current, currentBytes));
                current = new List<string>();
                currentBytes = 0;
            }
            current.Add(name);
            currentBytes += bytes;
        }
        if (current.Count > 0) groups.Add((current, currentBytes));

        if (groups.Count == 1) return new[] { new HuggingFaceShard(HuggingFaceWeightIndex.SingleFileName, groups[0].Names, groups[0].Bytes) };
        return groups.Select((g, i) => new HuggingFaceShard(ShardName(i + 1, groups.Count), g.Names, g.Bytes)).ToList();
    }

    /// <summary><c>model-{index:00000}-of-{count:00000}.safetensors</c>.</summary>
    public static string ShardName(int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"model-{index:D5}-of-{count:D5}.safetensors");

    /// <summary>True for names of the form <see cref="ShardName"/> writes.</summary>
    public static bool IsShardName(string fileName) =>
        System.Text.RegularExpressions.Regex.IsMatch(fileName, @"^model-\d{5,}-of-\d{5,}\.safetensors$");
}
