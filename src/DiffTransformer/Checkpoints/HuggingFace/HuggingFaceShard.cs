namespace DiffTransformer;

/// <summary>One weight file a save writes: its name, its tensors in state-dict order, their bytes in the stored dtype.</summary>
/// <param name="FileName"><c>model.safetensors</c>, or <c>model-0000i-of-0000N.safetensors</c> when sharded.</param>
/// <param name="Names">The tensors in this file, in the order they were given.</param>
/// <param name="Bytes">Their total data size in bytes.</param>
internal sealed record HuggingFaceShard(string FileName, IReadOnlyList<string> Names, long Bytes);
