namespace DiffTransformer;

/// <summary>
/// Turns text into token ids in <c>[0, VocabSize)</c> and back. Implementations: <see cref="ByteTokenizer"/> (built in)
/// and, in package DiffTransformer.Tokenizers, <c>Cl100kTokenizer</c> and <c>HuggingFaceTokenizer</c> (a model directory's
/// tokenizer.json or tokenizer.model).
/// </summary>
public interface ITokenizer
{
    /// <summary>A short name stored with checkpoints, e.g. <c>bytes</c> or <c>cl100k_base</c>.</summary>
    string Name { get; }

    /// <summary>Ids lie in <c>[0, VocabSize)</c>; use it as <see cref="DiffTransformerConfig.VocabSize"/>.</summary>
    int VocabSize { get; }

    /// <summary>The ids of <paramref name="text"/>.</summary>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>; ids outside <c>[0, VocabSize)</c> throw <see cref="ArgumentException"/>.</summary>
    string Decode(ReadOnlySpan<int> ids);
}
