using DiffTransformer;

namespace DiffTransformer.Samples;

/// <summary>
/// The tokenizers the samples offer, by name: the command-line names <c>byte</c> and <c>cl100k</c>, and the names
/// <see cref="ITokenizer.Name"/> writes into checkpoint metadata, <c>bytes</c> and <c>cl100k_base</c>. Linked as source
/// into the samples that reference DiffTransformer.Tokenizers.
/// </summary>
internal static class SampleTokenizers
{
    /// <summary>The tokenizer for "byte" / "bytes" or "cl100k" / "cl100k_base".</summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static ITokenizer Create(string name) => name switch
    {
        "byte" or "bytes" => ByteTokenizer.Instance,
        "cl100k" or "cl100k_base" => Cl100kTokenizer.Instance,
        _ => throw new ArgumentException($"tokenizer must be byte or cl100k; got '{name}'.", nameof(name)),
    };
}
