using System.Text.Json.Nodes;

namespace DiffTransformer.Tests.Tokenizers;

/// <summary>
/// tokenizer.json byte-level BPE. There is no reference tokenizer here, so the file is written by hand
/// (<see cref="ByteLevelBpeJson"/>) and the expected ids are worked out by hand from the BPE rule: split the text
/// with GPT-2's regex, turn each piece into its bytes, then repeatedly merge the adjacent pair whose merge has the
/// lowest rank until no pair has a merge.
/// </summary>
public sealed class HuggingFaceBpeJsonTests
{
    private static HuggingFaceTokenizer Load(JsonObject json, string? tokenizerConfig = null)
    {
        using var directory = new HfModelDirectory();
        directory.Write("tokenizer.json", json);
        if (tokenizerConfig is not null) directory.Write("tokenizer_config.json", tokenizerConfig);
        return HuggingFaceTokenizer.Load(directory.Path);
    }

    [Fact]
    public void EncodingAppliesTheMergesInRankOrder()
    {
        var tokenizer = Load(ByteLevelBpeJson.Create());
        // "her": pairs (h,e) rank 1 and (e,r) rank 5; h+e first, then "he r" has no merge: he(257) r(114).
        // Merging left to right or e+r first would give h(104) er(261).
        Assert.Equal(new[] { 257, 114 }, tokenizer.Encode("her"));
        // "lower": l+o (rank 3) → lo w e r; lo+w (4) → low e r; e+r (5) → low(260) er(261).
        Assert.Equal(new[] { 260, 261 }, tokenizer.Encode("lower"));
        // " the": Ġ+t (0) and h+e (1) → Ġt he; Ġt+he (2) → Ġthe(258).
        Assert.Equal(new[] { 258 }, tokenizer.Encode(" the"));
        // "the the": the regex pieces are "the" and " the": t(116) he(257), then Ġthe(258).
        Assert.Equal(new[] { 116, 257, 258 }, tokenizer.Encode("the the"));
        // " lower": Ġ l o w e r → Ġ lo w e r → Ġ low e r → (e+r rank 5 before Ġ+low rank 6) Ġ low er → Ġlow(262) er(261).
        Assert.Equal(new[] { 262, 261 }, tokenizer.Encode(" lower"));
        // "ther": t h e r → t he r (t+he is no merge; only Ġt+he is): 116 257 114, not the vocabulary token "ther".
        Assert.Equal(new[] { 116, 257, 114 }, tokenizer.Encode("ther"));
        // "he,he": pieces "he" "," "he"; merges never cross pieces.
        Assert.Equal(new[] { 257, 44, 257 }, tokenizer.Encode("he,he"));
        // Bytes without merges: é is C3 A9, a newline 0A, an emoji four bytes.
        Assert.Equal(ByteLevelBpeJson.Bytes("é\n🙂"), tokenizer.Encode("é\n🙂"));
        Assert.Empty(tokenizer.Encode(""));
    }

    [Fact]
    public void MergesAsPairsGiveTheSameTokenizer()
    {
        var strings = Load(ByteLevelBpeJson.Create(pairs: false));
        var pairs = Load(ByteLevelBpeJson.Create(pairs: true));
        foreach (string text in new[] { "her lower the", " the lower her, ther", "é 🙂 x" })
            Assert.Equal(strings.Encode(text), pairs.Encode(text));
    }

    [Fact]
    public void IgnoreMergesTakesWholeVocabularyTokens()
    {
        // ignore_merges (Llama 3): a piece that is a vocabulary token is that token, whatever the merges would give.
        var tokenizer = Load(ByteLevelBpeJson.Create(ignoreMerges: true));
        Assert.Equal(new[] { 263 }, tokenizer.Encode("ther"));
        Assert.Equal(new[] { 257, 114 }, tokenizer.Encode("her")); // not a vocabulary token: the merges as before
    }

    [Fact]
    public void DecodeInvertsEncode()
    {
        var tokenizer = Load(ByteLevelBpeJson.Create());
        foreach (string text in new[] { "the lower her", "  two  spaces\tand a tab\n", "café — Ångström 🙂 日本", "a<|endoftext|>b<|begin|>" })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal(" the", tokenizer.Decode(new[] { 258 }));
        Assert.Equal("\uFFFD", tokenizer.Decode(new[] { 0xC3 })); // a cut UTF-8 sequence decodes, replaced
    }

    [Fact]
    public void AddedTokensAreCutOutOfTheText()
    {
        var tokenizer = Load(ByteLevelBpeJson.Create());
        Assert.Equal(new[] { 257, ByteLevelBpeJson.EndOfText, 257 }, tokenizer.Encode("he<|endoftext|>he"));
        Assert.Equal(new[] { ByteLevelBpeJson.Begin, 258 }, tokenizer.Encode("<|begin|> the"));
        Assert.Equal(266, tokenizer.VocabSize);
        Assert.Equal("tokenizer.json", tokenizer.SourceFile);
    }

    [Fact]
    public void SpecialTokensComeFromTheTemplateAndTokenizerConfig()
    {
        var plain = Load(ByteLevelBpeJson.Create());
        Assert.Null(plain.BosTokenId); // GPT-2 style: nothing to prepend
        Assert.Empty(plain.EosTokenIds);
        Assert.False(plain.AddsBos);
        Assert.Equal(new[] { 257 }, plain.EncodeWithSpecialTokens("he"));

        var json = ByteLevelBpeJson.Create();
        json["post_processor"] = new JsonObject { ["type"] = "Sequence", ["processors"] = new JsonArray(json["post_processor"]!.DeepClone(), ByteLevelBpeJson.BeginTemplate()) };
        var llama3 = Load(json, """{"bos_token": "<|begin|>", "eos_token": "<|endoftext|>"}""");
        Assert.Equal(ByteLevelBpeJson.Begin, llama3.BosTokenId);
        Assert.Equal(new[] { ByteLevelBpeJson.EndOfText }, llama3.EosTokenIds);
        Assert.True(llama3.AddsBos);
        Assert.False(llama3.AddsEos);
        Assert.Equal(new[] { ByteLevelBpeJson.Begin, 257 }, llama3.EncodeWithSpecialTokens("he"));
        Assert.Equal(new[] { 257 }, llama3.Encode("he"));

        var overridden = Load(json, """{"add_bos_token": false, "add_eos_token": true, "eos_token": {"content": "<|endoftext|>"}}""");
        Assert.Equal(new[] { 257, ByteLevelBpeJson.EndOfText }, overridden.EncodeWithSpecialTokens("he"));
    }

    [Fact]
    public void PrefixSpaceAndNormalizerAndSplitStepsAreApplied()
    {
        var json = ByteLevelBpeJson.Create();
        json["pre_tokenizer"]!["add_prefix_space"] = true;
        Assert.Equal(new[] { 258 }, Load(json).Encode("the")); // " the"

        json = ByteLevelBpeJson.Create();
        json["normalizer"] = new JsonObject { ["type"] = "NFC" };
        Assert.Equal(ByteLevelBpeJson.Bytes("é"), Load(json).Encode("e\u0301")); // NFC makes e + combining acute é

        // Llama 3 style: a Split step with its own regex, then ByteLevel without one. This regex splits before
        // every "e", so "her" is "h" "er": 104 261.
        json = ByteLevelBpeJson.Create();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "e[^e]*" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        Assert.Equal(new[] { 104, 261 }, Load(json).Encode("her"));
    }

    [Fact]
    public void ItFeedsTheModel()
    {
        ITokenizer tokenizer = Load(ByteLevelBpeJson.Create());
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential, vocab: tokenizer.VocabSize));
        var ids = tokenizer.Encode("the lower her");
        using var tokens = TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var logits = model.forward(tokens);
        Assert.Equal(new long[] { 1, ids.Length, tokenizer.VocabSize }, logits.shape);
    }

    [Fact]
    public void DecodeRejectsIdsThatNameNoToken()
    {
        var json = ByteLevelBpeJson.Create();
        json["added_tokens"]!.AsArray()[1]!["id"] = 300; // ids 265-299 name no token
        var tokenizer = Load(json);
        Assert.Equal(301, tokenizer.VocabSize);
        foreach (int id in new[] { -1, 265, 299, 301 })
        {
            var error = Assert.Throws<ArgumentException>(() => tokenizer.Decode(new[] { 1, id }));
            Assert.Equal("ids", error.ParamName);
            Assert.Contains($"ids[1] is {id}", error.Message);
        }
        Assert.Equal("<|begin|>", tokenizer.Decode(new[] { 300 }));
    }
}
