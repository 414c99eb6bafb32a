using DiffTransformer.Checkpoints;

using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Where one tensor of a Hugging Face weight directory lies: its safetensors file, that file's header, its entry.</summary>
/// <param name="Path">The safetensors file (<c>model.safetensors</c> or a shard).</param>
/// <param name="Header">The validated header of <paramref name="Path"/>.</param>
/// <param name="Entry">The tensor's entry in that header (dtype, shape, data offsets).</param>
internal sealed record HuggingFaceTensorLocation(string Path, Safetensors.Header Header, Safetensors.Entry Entry)
{
    /// <summary>The stored shape.</summary>
    public long[] Shape => Entry.Shape;

    /// <summary>The stored dtype.</summary>
    public ScalarType StoredType => Entry.ScalarType;
}
