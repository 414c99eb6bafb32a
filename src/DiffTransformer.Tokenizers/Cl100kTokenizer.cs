using Microsoft.ML.Tokenizers;

namespace DiffTransformer;

/// <summary>
/// OpenAI's <c>cl100k_base</c> byte-level BPE, the tokenizer of the Differential Transformer paper, through
/// Microsoft.ML.Tokenizers with its bundled data (no download). Ids lie in <c>[0, 100277)</c>: 100256 merged tokens
/// (0-100255) and the special tokens (<c>&lt;|endoftext|&gt;</c> = 100257 and the fill-in-the-middle ones up to
/// 100276); a few ids in between are unused. Special-token text such as <c>&lt;|endoftext|&gt;</c> in the input is
/// encoded as the special token.
/// </summary>
public sealed class Cl100kTokenizer : ITokenizer
{
    private const int MergedTokens = 100256;
    private static readonly Lazy<Cl100kTokenizer> Shared = new(() => new Cl100kTokenizer());

    private readonly TiktokenTokenizer tokenizer;
    private readonly HashSet<int> specialIds;

    /// <summary>Loads the encoding from the bundled data (about 100k merges; takes a moment, so prefer <see cref="Instance"/>).</summary>
    public Cl100kTokenizer()
    {
        tokenizer = TiktokenTokenizer.CreateForEncoding("cl100k_base");
        // cl100k_base is a fixed, published encoding: merged tokens 0..100255, then the special tokens.
        specialIds = tokenizer.SpecialTokens is { } specials ? specials.Values.ToHashSet() : new HashSet<int>();
        VocabSize = Math.Max(MergedTokens, specialIds.Count == 0 ? 0 : specialIds.Max() + 1);
        EndOfText = tokenizer.SpecialTokens?.TryGetValue("<|endoftext|>", out int id) == true ? id : null;
    }

    /// <summary>A shared instance, created on first use.</summary>
    public static Cl100kTokenizer Instance => Shared.Value;

    /// <inheritdoc />
    public string Name => "cl100k_base";

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> (100257), to separate documents.</summary>
    public int? EndOfText { get; }

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return tokenizer.EncodeToIds(text).ToArray();
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
            if (!IsValid(ids[i]))
                throw new ArgumentException($"ids must be cl100k_base token ids (in [0, {VocabSize}), not an unused id); ids[{i}] is {ids[i]}.", nameof(ids));
        return tokenizer.Decode(ids.ToArray()) ?? string.Empty;
    }

    private bool IsValid(int id) => (id >= 0 && id < MergedTokens) || specialIds.Contains(id);
}
