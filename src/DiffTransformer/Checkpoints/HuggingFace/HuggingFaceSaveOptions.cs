using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>How <see cref="HuggingFaceCheckpoint.Save"/> writes the directory.</summary>
public sealed record HuggingFaceSaveOptions
{
    /// <summary>
    /// Largest weights file in bytes before the weights are split into shards with a
    /// <c>model.safetensors.index.json</c>: transformers' default, 5 GB (5,000,000,000 bytes). A tensor larger than this
    /// gets a shard of its own.
    /// </summary>
    public long MaxShardSizeBytes { get; init; } = 5_000_000_000;

    /// <summary>The stored dtype (written as <c>torch_dtype</c>); null for the model's own dtype.</summary>
    public ScalarType? DType { get; init; }
}
