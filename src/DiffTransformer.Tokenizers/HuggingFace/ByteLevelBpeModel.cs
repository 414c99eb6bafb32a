using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DiffTransformer;

/// <summary>
/// A byte-level BPE read from tokenizer.json (GPT-2, Llama 3 style). The steps follow Hugging Face tokenizers: added
/// tokens are cut out of the text first, then each remaining stretch is normalized, given a prefix space when
/// <c>add_prefix_space</c>, split by the pre-tokenizer's regexes (matches and the text between them both become pieces),
/// and each piece is encoded by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (UTF-8 bytes mapped to GPT-2's
/// byte alphabet, then the merges in rank order); with <c>ignore_merges</c> a piece that is a whole vocabulary token is
/// that token.
/// </summary>
internal sealed class ByteLevelBpeModel : IHfTokenizerModel
{
    private readonly BpeTokenizer bpe;
    private readonly IReadOnlyDictionary<string, int> vocabulary;
    private readonly Dictionary<string, int> addedTokens;
    private readonly Dictionary<int, string> addedById;
    private readonly HashSet<int> vocabularyIds;
    private readonly Regex? addedTokenPattern;
    private readonly IReadOnlyList<NormalizationForm> normalizations;
    private readonly IReadOnlyList<Regex> splits;
    private readonly bool addPrefixSpace;
    private readonly bool ignoreMerges;

    public ByteLevelBpeModel(
        BpeTokenizer bpe,
        IReadOnlyDictionary<string, int> vocabulary,
        IReadOnlyDictionary<string, int> addedTokens,
        IReadOnlyList<NormalizationForm> normalizations,
        IReadOnlyList<Regex> splits,
        bool addPrefixSpace,
        bool ignoreMerges,
        int? templateBos,
        int? templateEos)
    {
        this.bpe = bpe;
        this.vocabulary = vocabulary;
        this.addedTokens = new Dictionary<string, int>(addedTokens, StringComparer.Ordinal);
        addedById = addedTokens.ToDictionary(pair => pair.Value, pair => pair.Key);
        vocabularyIds = [.. vocabulary.Values];
        // Leftmost match; among tokens starting at the same place the longest wins (alternatives are tried in order).
        addedTokenPattern = addedTokens.Count == 0
            ? null
            : new Regex(string.Join("|", addedTokens.Keys.OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).Select(Regex.Escape)),
                RegexOptions.CultureInvariant);
        this.normalizations = normalizations;
        this.splits = splits;
        this.addPrefixSpace = addPrefixSpace;
        this.ignoreMerges = ignoreMerges;
        DefaultBos = templateBos;
        DefaultEos = templateEos;
        DefaultAddsBos = templateBos is not null;
        DefaultAddsEos = templateEos is not null;
        int maxId = Math.Max(vocabulary.Count == 0 ? -1 : vocabulary.Values.Max(), addedById.Count == 0 ? -1 : addedById.Keys.Max());
        VocabSize = maxId + 1;
    }

    public string FileName => "tokenizer.json";

    public int VocabSize { get; }

    public int? DefaultBos { get; }

    public int? DefaultEos { get; }

    public bool DefaultAddsBos { get; }

    public bool DefaultAddsEos { get; }

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        int start = 0;
        if (addedTokenPattern is not null)
        {
            for (var match = addedTokenPattern.Match(text); match.Success; match = match.NextMatch())
            {
                EncodeStretch(text[start..match.Index], ids);
                ids.Add(addedTokens[match.Value]);
                start = match.Index + match.Length;
            }
        }
        EncodeStretch(text[start..], ids);
        return ids.ToArray();
    }

    public string Decode(int[] ids)
    {
        var text = new StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (addedById.TryGetValue(id, out string? content))
            {
                Flush();
                text.Append(content);
            }
            else
            {
                run.Add(id);
            }
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            text.Append(bpe.Decode(run, considerSpecialTokens: false));
            run.Clear();
        }
    }

    public bool IsValid(int id) => addedById.ContainsKey(id) || vocabularyIds.Contains(id);

    public int? IdOf(string token)
        => addedTokens.TryGetValue(token, out int id) || vocabulary.TryGetValue(token, out id) ? id : null;

    private void EncodeStretch(string stretch, List<int> ids)
    {
        if (stretch.Length == 0) return;
        foreach (var form in normalizations) stretch = stretch.Normalize(form);
        if (addPrefixSpace && !stretch.StartsWith(' ')) stretch = " " + stretch;
        IEnumerable<string> pieces = [stretch];
        foreach (var split in splits) pieces = pieces.SelectMany(piece => SplitIsolated(split, piece)).ToList();
        foreach (string piece in pieces)
        {
            if (ignoreMerges && vocabulary.TryGetValue(ByteLevelAlphabet.Map(piece), out int whole))
                ids.Add(whole);
            else
                ids.AddRange(bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    // tokenizers' Split with behavior "Isolated": each match is a piece, and so is the text between matches.
    private static IEnumerable<string> SplitIsolated(Regex regex, string text)
    {
        int start = 0;
        for (var match = regex.Match(text); match.Success; match = match.NextMatch())
        {
            if (match.Length == 0) continue;
            if (match.Index > start) yield return text[start..match.Index];
            yield return match.Value;
            start = match.Index + match.Length;
        }
        if (start < text.Length) yield return text[start..];
    }
}
