using System.Text;
using System.Text.Json.Nodes;

namespace DiffTransformer.Tests.Tokenizers;

/// <summary>
/// A small byte-level BPE tokenizer.json written by hand. Ids 0-255 are the bytes (id = byte value, each as its GPT-2
/// byte-level character: space is "Ġ" = U+0120, newline "Ċ" = U+010A); then, in rank order, the merges
/// Ġ+t → Ġt (256), h+e → he (257), Ġt+he → Ġthe (258), l+o → lo (259), lo+w → low (260), e+r → er (261),
/// Ġ+low → Ġlow (262); "ther" (263) is a vocabulary token that no merge makes; added tokens
/// &lt;|endoftext|&gt; (264) and &lt;|begin|&gt; (265). Pre-tokenizer: ByteLevel with GPT-2's regex, no prefix space.
/// </summary>
internal static class ByteLevelBpeJson
{
    public const int EndOfText = 264;
    public const int Begin = 265;

    public static readonly (string Left, string Right)[] Merges =
        [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "o"), ("lo", "w"), ("e", "r"), ("Ġ", "low")];

    /// <summary>GPT-2's bytes_to_unicode, written out here so the test does not use the code under test.</summary>
    public static char ByteChar(int b)
    {
        int next = 256;
        for (int i = 0; i < 256; i++)
        {
            bool printable = (i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            if (i == b) return printable ? (char)i : (char)next;
            if (!printable) next++;
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }

    /// <summary>The file; <paramref name="pairs"/> writes merges as ["a", "b"] (tokenizers ≥ 0.20) instead of "a b".</summary>
    public static JsonObject Create(bool pairs = false, bool ignoreMerges = false)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteChar(b).ToString()] = b;
        int id = 256;
        foreach (var (left, right) in Merges) vocab[left + right] = id++;
        vocab["ther"] = 263;
        var merges = new JsonArray();
        foreach (var (left, right) in Merges) merges.Add(pairs ? new JsonArray(left, right) : JsonValue.Create(left + " " + right));
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(AddedToken(EndOfText, "<|endoftext|>"), AddedToken(Begin, "<|begin|>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    /// <summary>A post_processor that prepends &lt;|begin|&gt;, as Llama 3's does with &lt;|begin_of_text|&gt;.</summary>
    public static JsonObject BeginTemplate() => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin|>", ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
        ["pair"] = new JsonArray(),
        ["special_tokens"] = new JsonObject
        {
            ["<|begin|>"] = new JsonObject { ["id"] = "<|begin|>", ["ids"] = new JsonArray(Begin), ["tokens"] = new JsonArray("<|begin|>") },
        },
    };

    /// <summary>The ids of the bytes of <paramref name="text"/> (id = byte value).</summary>
    public static int[] Bytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = true,
    };
}
