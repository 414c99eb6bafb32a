using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DiffTransformer;

/// <summary>
/// Builds a <see cref="ByteLevelBpeModel"/> from a tokenizer.json: <c>model</c> (type BPE: <c>vocab</c>, <c>merges</c>
/// as "a b" strings or ["a", "b"] pairs), <c>normalizer</c>, <c>pre_tokenizer</c>, <c>added_tokens</c> and
/// <c>post_processor</c> (for the default BOS/EOS). Anything it cannot reproduce exactly is refused.
/// </summary>
internal static class TokenizerJsonReader
{
    // The regex of tokenizers' ByteLevel pre-tokenizer (use_regex: true), GPT-2's.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Why the file describes a kind of tokenizer this reader does not build (a model other than BPE, or no ByteLevel
    /// pre-tokenizer, as in SentencePiece-style BPE), or null when it is a byte-level BPE. Malformed files throw.
    /// </summary>
    public static string? UnsupportedKind(JsonElement root, string path)
    {
        if (HfJson.Member(root, "model") is not { ValueKind: JsonValueKind.Object } model)
            throw HfJson.Bad(path, $"\"model\" must be an object; it is {Found(root, "model")}");
        string type = HfJson.String(model, "type", "model.type", path) ?? throw HfJson.Bad(path, "model.type must be a string such as \"BPE\"; it is missing");
        if (type != "BPE")
            return $"model.type must be \"BPE\" (byte-level BPE is what this loader builds from tokenizer.json); it is \"{type}\"";
        return ReadPreTokenizer(root, path, out _, out _);
    }

    /// <summary>Builds the model; call after <see cref="UnsupportedKind"/> returned null.</summary>
    public static ByteLevelBpeModel Build(JsonElement root, string path)
    {
        if (ReadPreTokenizer(root, path, out var splits, out bool addPrefixSpace) is { } reason) throw HfJson.Bad(path, reason);
        var model = root.GetProperty("model");
        if (HfJson.Member(model, "dropout") is { } dropout && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
            throw HfJson.Bad(path, $"model.dropout must be null or 0 (encoding must be deterministic); it is {HfJson.Describe(dropout)}");
        if (HfJson.Bool(model, "byte_fallback", "model.byte_fallback", path) == true)
            throw HfJson.Bad(path, "model.byte_fallback must be false for a byte-level BPE (every byte is already a token); it is true");
        foreach (string field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (HfJson.String(model, field, "model." + field, path) is { Length: > 0 } affix)
                throw HfJson.Bad(path, $"model.{field} must be null or empty for a byte-level BPE; it is \"{affix}\"");
        string? unknown = HfJson.String(model, "unk_token", "model.unk_token", path);
        bool fuseUnknown = HfJson.Bool(model, "fuse_unk", "model.fuse_unk", path) ?? false;
        bool ignoreMerges = HfJson.Bool(model, "ignore_merges", "model.ignore_merges", path) ?? false;

        var vocabulary = ReadVocabulary(model, path);
        if (unknown is not null && !vocabulary.ContainsKey(unknown))
            throw HfJson.Bad(path, $"model.unk_token must be a token of model.vocab; \"{unknown}\" is not");
        if (unknown is null)
            for (int b = 0; b < 256; b++)
                if (!vocabulary.ContainsKey(ByteLevelAlphabet.Of((byte)b).ToString()))
                    throw HfJson.Bad(path, $"model.vocab must hold a token for every byte when model.unk_token is null; byte 0x{b:X2} ('{ByteLevelAlphabet.Of((byte)b)}') has none");
        var merges = ReadMerges(model, vocabulary, path);
        var added = ReadAddedTokens(root, path);
        var (bos, eos) = ReadTemplate(root, path);

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                UnknownToken = unknown,
                FuseUnknownTokens = fuseUnknown,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw HfJson.Bad(path, $"Microsoft.ML.Tokenizers' BpeTokenizer refused model.vocab and model.merges ({e.Message})");
        }
        return new ByteLevelBpeModel(bpe, vocabulary, added, ReadNormalizer(root, path), splits, addPrefixSpace, ignoreMerges, bos, eos);
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string path)
    {
        if (HfJson.Member(model, "vocab") is not { ValueKind: JsonValueKind.Object } vocab)
            throw HfJson.Bad(path, $"model.vocab must be an object of token → id; it is {Found(model, "vocab")}");
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        var byId = new Dictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            int id = HfJson.Id(entry.Value, $"model.vocab[\"{entry.Name}\"]", path);
            if (byId.TryGetValue(id, out string? other))
                throw HfJson.Bad(path, $"model.vocab must give each id to one token; id {id} is both \"{other}\" and \"{entry.Name}\"");
            if (entry.Name.Length == 0 || !ByteLevelAlphabet.IsByteLevel(entry.Name))
                throw HfJson.Bad(path, $"model.vocab tokens must be non-empty strings of GPT-2's byte-level alphabet; \"{entry.Name}\" (id {id}) is not");
            byId[id] = entry.Name;
            tokens[entry.Name] = id;
        }
        if (tokens.Count == 0) throw HfJson.Bad(path, "model.vocab must hold at least one token; it is empty");
        return tokens;
    }

    private static List<string> ReadMerges(JsonElement model, Dictionary<string, int> vocabulary, string path)
    {
        if (HfJson.Member(model, "merges") is not { ValueKind: JsonValueKind.Array } merges)
            throw HfJson.Bad(path, $"model.merges must be an array of \"a b\" strings or [\"a\", \"b\"] pairs; it is {Found(model, "merges")}");
        var result = new List<string>(merges.GetArrayLength());
        int i = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string field = $"model.merges[{i++}]";
            string? left = null, right = null;
            if (merge.ValueKind == JsonValueKind.String && merge.GetString()!.Split(' ') is [{ Length: > 0 } a, { Length: > 0 } b])
                (left, right) = (a, b);
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                (left, right) = (merge[0].GetString(), merge[1].GetString());
            if (left is null || right is null)
                throw HfJson.Bad(path, $"{field} must be a string \"a b\" (two tokens, one space) or a pair [\"a\", \"b\"]; it is {HfJson.Describe(merge)}");
            foreach (string token in new[] { left, right, left + right })
                if (!vocabulary.ContainsKey(token))
                    throw HfJson.Bad(path, $"{field} must join two tokens of model.vocab into one; \"{token}\" is not in model.vocab");
            result.Add(left + " " + right);
        }
        return result;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (HfJson.Member(root, "added_tokens") is not { } tokens) return added;
        if (tokens.ValueKind != JsonValueKind.Array) throw HfJson.Bad(path, $"added_tokens must be an array; it is {HfJson.Describe(tokens)}");
        int i = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            string field = $"added_tokens[{i++}]";
            if (token.ValueKind != JsonValueKind.Object) throw HfJson.Bad(path, $"{field} must be an object; it is {HfJson.Describe(token)}");
            int id = HfJson.Id(HfJson.Member(token, "id") ?? default, field + ".id", path);
            string content = HfJson.String(token, "content", field + ".content", path) is { Length: > 0 } c
                ? c
                : throw HfJson.Bad(path, $"{field}.content must be a non-empty string; it is {Found(token, "content")}");
            foreach (string flag in new[] { "single_word", "lstrip", "rstrip" })
                if (HfJson.Bool(token, flag, $"{field}.{flag}", path) == true)
                    throw HfJson.Bad(path, $"{field}.{flag} must be false (only exact matches of added tokens are supported); it is true for \"{content}\"");
            if (added.TryGetValue(content, out int other) && other != id)
                throw HfJson.Bad(path, $"{field} must not give \"{content}\" a second id; it has {other} and {id}");
            added[content] = id;
        }
        return added;
    }

    private static List<NormalizationForm> ReadNormalizer(JsonElement root, string path)
    {
        var forms = new List<NormalizationForm>();
        if (HfJson.Member(root, "normalizer") is not { } normalizer) return forms;
        var steps = Steps(normalizer, "normalizers", "normalizer", path);
        foreach (var (step, field) in steps)
        {
            string? type = step.ValueKind == JsonValueKind.Object ? HfJson.String(step, "type", field + ".type", path) : null;
            forms.Add(type switch
            {
                "NFC" => NormalizationForm.FormC,
                "NFD" => NormalizationForm.FormD,
                "NFKC" => NormalizationForm.FormKC,
                "NFKD" => NormalizationForm.FormKD,
                _ => throw HfJson.Bad(path, $"{field} must be null, NFC, NFD, NFKC, NFKD or a Sequence of them (others are not supported); it is {HfJson.Describe(step)}"),
            });
        }
        return forms;
    }

    private static string? ReadPreTokenizer(JsonElement root, string path, out List<Regex> splits, out bool addPrefixSpace)
    {
        splits = [];
        addPrefixSpace = false;
        const string Rule = "pre_tokenizer must be ByteLevel, or a Sequence of Split steps (behavior Isolated) ending in ByteLevel";
        if (HfJson.Member(root, "pre_tokenizer") is not { } pre) return $"{Rule}; it is null";
        bool byteLevel = false;
        foreach (var (step, field) in Steps(pre, "pretokenizers", "pre_tokenizer", path))
        {
            string? type = step.ValueKind == JsonValueKind.Object ? HfJson.String(step, "type", field + ".type", path) : null;
            if (byteLevel) return $"{Rule}; {field} comes after ByteLevel";
            if (type == "ByteLevel")
            {
                byteLevel = true;
                addPrefixSpace = HfJson.Bool(step, "add_prefix_space", field + ".add_prefix_space", path) ?? true; // tokenizers' default
                if (HfJson.Bool(step, "use_regex", field + ".use_regex", path) ?? true) splits.Add(Compile(Gpt2Pattern, field, path));
            }
            else if (type == "Split")
            {
                string? behavior = HfJson.String(step, "behavior", field + ".behavior", path);
                if (behavior != "Isolated") return $"{Rule}; {field}.behavior is {(behavior is null ? "missing" : $"\"{behavior}\"")}";
                if (HfJson.Bool(step, "invert", field + ".invert", path) == true) return $"{Rule}; {field}.invert is true";
                var pattern = HfJson.Member(step, "pattern");
                string regex = pattern is { ValueKind: JsonValueKind.Object } p && HfJson.Member(p, "Regex") is { ValueKind: JsonValueKind.String } r
                    ? r.GetString()!
                    : pattern is { ValueKind: JsonValueKind.Object } q && HfJson.Member(q, "String") is { ValueKind: JsonValueKind.String } s
                        ? Regex.Escape(s.GetString()!)
                        : throw HfJson.Bad(path, $"{field}.pattern must be {{\"Regex\": ...}} or {{\"String\": ...}}; it is {Found(step, "pattern")}");
                splits.Add(Compile(regex, field, path));
            }
            else
            {
                return $"{Rule}; {field} is {HfJson.Describe(step)}";
            }
        }
        return byteLevel ? null : $"{Rule}; it has no ByteLevel step";
    }

    private static (int? Bos, int? Eos) ReadTemplate(JsonElement root, string path)
    {
        if (HfJson.Member(root, "post_processor") is not { } processor) return (null, null);
        int? bos = null, eos = null;
        foreach (var (step, field) in Steps(processor, "processors", "post_processor", path))
        {
            string? type = step.ValueKind == JsonValueKind.Object ? HfJson.String(step, "type", field + ".type", path) : null;
            if (type == "ByteLevel") continue;
            if (type is "RobertaProcessing" or "BertProcessing")
            {
                bos = PairId(step, "cls", field, path);
                eos = PairId(step, "sep", field, path);
            }
            else if (type == "TemplateProcessing")
            {
                (bos, eos) = ReadSingleTemplate(step, field, path);
            }
            else
            {
                throw HfJson.Bad(path, $"{field} must be ByteLevel, TemplateProcessing, RobertaProcessing, BertProcessing or a Sequence of them; it is {HfJson.Describe(step)}");
            }
        }
        return (bos, eos);
    }

    private static (int? Bos, int? Eos) ReadSingleTemplate(JsonElement step, string field, string path)
    {
        if (HfJson.Member(step, "single") is not { ValueKind: JsonValueKind.Array } single)
            throw HfJson.Bad(path, $"{field}.single must be an array; it is {Found(step, "single")}");
        var before = new List<int>();
        var after = new List<int>();
        int sequences = 0;
        foreach (var item in single.EnumerateArray())
        {
            if (HfJson.Member(item, "Sequence") is not null) { sequences++; continue; }
            if (HfJson.Member(item, "SpecialToken") is not { } special || HfJson.String(special, "id", field + ".single[].SpecialToken.id", path) is not { } name)
                throw HfJson.Bad(path, $"{field}.single items must be {{\"Sequence\": ...}} or {{\"SpecialToken\": {{\"id\": ...}}}}; one is {HfJson.Describe(item)}");
            var ids = HfJson.Member(step, "special_tokens") is { } map && HfJson.Member(map, name) is { } entry ? HfJson.Member(entry, "ids") : null;
            if (ids is not { ValueKind: JsonValueKind.Array } || ids.Value.GetArrayLength() != 1)
                throw HfJson.Bad(path, $"{field}.special_tokens[\"{name}\"].ids must be an array of one id; it is {(ids is { } v ? HfJson.Describe(v) : "missing")}");
            (sequences == 0 ? before : after).Add(HfJson.Id(ids.Value[0], $"{field}.special_tokens[\"{name}\"].ids[0]", path));
        }
        if (sequences != 1 || before.Count > 1 || after.Count > 1)
            throw HfJson.Bad(path, $"{field}.single must be the text ($A) with at most one special token before it (BOS) and one after (EOS); it has {sequences} sequence(s), {before.Count} token(s) before and {after.Count} after");
        return (before.Count == 1 ? before[0] : null, after.Count == 1 ? after[0] : null);
    }

    private static int PairId(JsonElement step, string name, string field, string path)
        => HfJson.Member(step, name) is { ValueKind: JsonValueKind.Array } pair && pair.GetArrayLength() == 2
            ? HfJson.Id(pair[1], $"{field}.{name}[1]", path)
            : throw HfJson.Bad(path, $"{field}.{name} must be a [token, id] pair; it is {Found(step, name)}");

    // A step or a {"type": "Sequence", <member>: [steps]} as (step, field name for messages).
    private static List<(JsonElement Step, string Field)> Steps(JsonElement element, string member, string field, string path)
    {
        if (element.ValueKind != JsonValueKind.Object || HfJson.String(element, "type", field + ".type", path) != "Sequence")
            return [(element, field)];
        if (HfJson.Member(element, member) is not { ValueKind: JsonValueKind.Array } steps)
            throw HfJson.Bad(path, $"{field}.{member} must be an array; it is {Found(element, member)}");
        return steps.EnumerateArray().Select((step, i) => (step, $"{field}.{member}[{i}]")).ToList();
    }

    private static Regex Compile(string pattern, string field, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw HfJson.Bad(path, $"{field}.pattern must be a regular expression .NET reads; \"{pattern}\" is not ({e.Message})");
        }
    }

    private static string Found(JsonElement obj, string name) => HfJson.Member(obj, name) is { } value ? HfJson.Describe(value) : "missing";
}
