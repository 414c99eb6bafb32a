using System.Text.Json.Nodes;

namespace DiffTransformer.Tests.Tokenizers;

/// <summary>Every rule the loader enforces, broken once: each gets an exception naming the file, the rule and the value.</summary>
public sealed class HuggingFaceTokenizerRefusalTests
{
    private static readonly Dictionary<string, (Action<JsonObject> Break, string Message)> JsonRules = new()
    {
        ["model missing"] = (j => j.Remove("model"), "\"model\" must be an object; it is missing"),
        ["model.type missing"] = (j => Model(j).Remove("type"), "model.type must be a string"),
        ["WordPiece"] = (j => Model(j)["type"] = "WordPiece", "model.type must be \"BPE\" (byte-level BPE is what this loader builds from tokenizer.json); it is \"WordPiece\" (and the directory has no tokenizer.model"),
        ["Unigram"] = (j => Model(j)["type"] = "Unigram", "it is \"Unigram\""),
        ["pre_tokenizer null"] = (j => j["pre_tokenizer"] = null, "pre_tokenizer must be ByteLevel, or a Sequence of Split steps (behavior Isolated) ending in ByteLevel; it is null"),
        ["Metaspace"] = (j => j["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁" }, "pre_tokenizer is an object {\"type\":\"Metaspace\""),
        ["Split Removed"] = (j => j["pre_tokenizer"] = Sequence(Split("Removed"), ByteLevel()), "pre_tokenizer.pretokenizers[0].behavior is \"Removed\""),
        ["Split inverted"] = (j => j["pre_tokenizer"] = Sequence(Split("Isolated", invert: true), ByteLevel()), "pre_tokenizer.pretokenizers[0].invert is true"),
        ["after ByteLevel"] = (j => j["pre_tokenizer"] = Sequence(ByteLevel(), Split("Isolated")), "pre_tokenizer.pretokenizers[1] comes after ByteLevel"),
        ["no ByteLevel"] = (j => j["pre_tokenizer"] = Sequence(Split("Isolated")), "it has no ByteLevel step"),
        ["Split pattern"] = (j => j["pre_tokenizer"] = Sequence(Split("Isolated", pattern: null), ByteLevel()), "pre_tokenizer.pretokenizers[0].pattern must be {\"Regex\": ...} or {\"String\": ...}; it is missing"),
        ["bad regex"] = (j => j["pre_tokenizer"] = Sequence(Split("Isolated", pattern: "(unclosed"), ByteLevel()), "pattern must be a regular expression .NET reads; \"(unclosed\" is not"),
        ["dropout"] = (j => Model(j)["dropout"] = 0.1, "model.dropout must be null or 0 (encoding must be deterministic); it is a number 0.1"),
        ["byte_fallback"] = (j => Model(j)["byte_fallback"] = true, "model.byte_fallback must be false"),
        ["prefix"] = (j => Model(j)["continuing_subword_prefix"] = "##", "model.continuing_subword_prefix must be null or empty for a byte-level BPE; it is \"##\""),
        ["suffix"] = (j => Model(j)["end_of_word_suffix"] = "</w>", "model.end_of_word_suffix must be null or empty"),
        ["unk not in vocab"] = (j => Model(j)["unk_token"] = "<unk>", "model.unk_token must be a token of model.vocab; \"<unk>\" is not"),
        ["vocab missing"] = (j => Model(j).Remove("vocab"), "model.vocab must be an object of token → id; it is missing"),
        ["vocab array"] = (j => Model(j)["vocab"] = new JsonArray(), "model.vocab must be an object of token → id; it is an array []"),
        ["vocab empty"] = (j => { Model(j)["vocab"] = new JsonObject(); Model(j)["merges"] = new JsonArray(); }, "model.vocab must hold at least one token; it is empty"),
        ["id negative"] = (j => Vocab(j)["ther"] = -3, "model.vocab[\"ther\"] must be a non-negative integer; it is a number -3"),
        ["id string"] = (j => Vocab(j)["ther"] = "263", "model.vocab[\"ther\"] must be a non-negative integer; it is a string \"263\""),
        ["duplicate id"] = (j => Vocab(j)["ther"] = 5, "model.vocab must give each id to one token; id 5 is both"),
        ["not byte-level"] = (j => Vocab(j)["a b"] = 300, "model.vocab tokens must be non-empty strings of GPT-2's byte-level alphabet; \"a b\" (id 300) is not"),
        ["byte missing"] = (j => Vocab(j).Remove("Ċ"), "model.vocab must hold a token for every byte when model.unk_token is null; byte 0x0A ('Ċ') has none"),
        ["merges missing"] = (j => Model(j).Remove("merges"), "model.merges must be an array of \"a b\" strings or [\"a\", \"b\"] pairs; it is missing"),
        ["merge three parts"] = (j => Merges(j).Add("a b c"), "model.merges[7] must be a string \"a b\" (two tokens, one space) or a pair [\"a\", \"b\"]; it is a string \"a b c\""),
        ["merge one part"] = (j => Merges(j).Add(new JsonArray("a")), "model.merges[7] must be a string \"a b\""),
        ["merge unknown"] = (j => Merges(j).Add("x y"), "model.merges[7] must join two tokens of model.vocab into one; \"xy\" is not in model.vocab"),
        ["added not array"] = (j => j["added_tokens"] = new JsonObject(), "added_tokens must be an array; it is an object"),
        ["added not object"] = (j => Added(j).Add(5), "added_tokens[2] must be an object; it is a number 5"),
        ["added no id"] = (j => Added(j).Add(new JsonObject { ["content"] = "<x>" }), "added_tokens[2].id must be a non-negative integer; it is missing"),
        ["added empty"] = (j => Added(j).Add(new JsonObject { ["id"] = 400, ["content"] = "" }), "added_tokens[2].content must be a non-empty string; it is a string \"\""),
        ["added lstrip"] = (j => Added(j).Add(new JsonObject { ["id"] = 400, ["content"] = "<mask>", ["lstrip"] = true }), "added_tokens[2].lstrip must be false (only exact matches of added tokens are supported); it is true for \"<mask>\""),
        ["added twice"] = (j => Added(j).Add(new JsonObject { ["id"] = 400, ["content"] = "<|begin|>" }), "added_tokens[2] must not give \"<|begin|>\" a second id; it has 265 and 400"),
        ["Lowercase"] = (j => j["normalizer"] = new JsonObject { ["type"] = "Lowercase" }, "normalizer must be null, NFC, NFD, NFKC, NFKD or a Sequence of them (others are not supported); it is an object {\"type\":\"Lowercase\"}"),
        ["Sequence normalizers"] = (j => j["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "NFC" }, new JsonObject { ["type"] = "Strip" }) }, "normalizer.normalizers[1] must be null, NFC"),
        ["post_processor type"] = (j => j["post_processor"] = new JsonObject { ["type"] = "Custom" }, "post_processor must be ByteLevel, TemplateProcessing, RobertaProcessing, BertProcessing or a Sequence of them; it is an object"),
        ["template two before"] = (j => j["post_processor"] = TwoBefore(), "post_processor.single must be the text ($A) with at most one special token before it (BOS) and one after (EOS); it has 1 sequence(s), 2 token(s) before and 0 after"),
        ["template ids"] = (j => { var t = ByteLevelBpeJson.BeginTemplate(); t["special_tokens"]!["<|begin|>"]!["ids"] = new JsonArray(1, 2); j["post_processor"] = t; }, "post_processor.special_tokens[\"<|begin|>\"].ids must be an array of one id; it is an array [1,2]"),
        ["template single"] = (j => { var t = ByteLevelBpeJson.BeginTemplate(); t.Remove("single"); j["post_processor"] = t; }, "post_processor.single must be an array; it is missing"),
        ["roberta cls"] = (j => j["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", 2) }, "post_processor.cls must be a [token, id] pair; it is missing"),
    };

    public static TheoryData<string> JsonRuleNames => new(JsonRules.Keys);

    [Theory]
    [MemberData(nameof(JsonRuleNames))]
    public void BrokenTokenizerJsonIsRefused(string rule)
    {
        var (breakIt, message) = JsonRules[rule];
        var json = ByteLevelBpeJson.Create();
        breakIt(json);
        using var directory = new HfModelDirectory();
        directory.Write("tokenizer.json", json);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.StartsWith($"'{directory.File("tokenizer.json")}': ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("{\"model\": ", "not valid JSON")]
    [InlineData("[1, 2]", "the root must be a JSON object; it is an array")]
    [InlineData("", "not valid JSON")]
    public void TokenizerJsonThatIsNotJsonIsRefused(string text, string message)
    {
        using var directory = HfModelDirectory.WithSentencePiece(); // a malformed tokenizer.json is an error even with tokenizer.model
        directory.Write("tokenizer.json", text);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains(directory.File("tokenizer.json"), error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void AnEscapedLoneSurrogateIsRefusedAsMalformed()
    {
        // Fuzz finding (fuzz/findings/tokenizer-json/invalid-surrogate-string.json): a vocabulary token written "\uDDDD"
        // parses, but System.Text.Json throws InvalidOperationException when the string is read, which escaped the reader.
        using var directory = new HfModelDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fuzz", "findings", "tokenizer-json", "invalid-surrogate-string.json"), directory.File("tokenizer.json"));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains(directory.File("tokenizer.json"), error.Message);
        Assert.Contains("escapes an invalid UTF-16 sequence", error.Message);
    }

    [Theory]
    [InlineData("{\"\\uDC00\": 1}")]            // in a name
    [InlineData("{\"a\": [\"x\\uD800y\"]}")]     // a high surrogate without its low half, in an array
    public void EveryStrictJsonReaderRefusesAnEscapedLoneSurrogate(string json)
    {
        // The one parser of every JSON file the library reads (config.json, trainer state, safetensors headers, the
        // Hugging Face files) checks every string once, so no reader can meet the exception later.
        var error = Assert.Throws<InvalidDataException>(() => ConfigJson.Read(System.Text.Encoding.UTF8.GetBytes(json), "config.json"));
        Assert.Contains("config.json", error.Message);
        Assert.Contains("escapes an invalid UTF-16 sequence", error.Message);
    }

    [Fact]
    public void BytesThatAreNotUtf8AreRefused()
    {
        using var directory = new HfModelDirectory();
        File.WriteAllBytes(directory.File("tokenizer.json"), [(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}']);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains("not valid UTF-8", error.Message);
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("Metaspace")]
    public void AKindNotBuiltFromTokenizerJsonFallsBackToTokenizerModel(string kind)
    {
        // Llama 2 directories carry a SentencePiece-style tokenizer.json (Metaspace, byte_fallback) next to tokenizer.model.
        var json = ByteLevelBpeJson.Create();
        if (kind == "Unigram") Model(json)["type"] = "Unigram";
        else json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁" };
        using var directory = HfModelDirectory.WithSentencePiece();
        directory.Write("tokenizer.json", json);
        var tokenizer = HuggingFaceTokenizer.Load(directory.Path);
        Assert.Equal("tokenizer.model", tokenizer.SourceFile);
        Assert.Equal(400, tokenizer.VocabSize);
    }

    private static readonly Dictionary<string, (string? TokenizerConfig, string? Config, string File, string Message)> ConfigRules = new()
    {
        ["add_bos_token string"] = ("""{"add_bos_token": "yes"}""", null, "tokenizer_config.json", "add_bos_token must be true or false; it is a string \"yes\""),
        ["add_eos_token number"] = ("""{"add_eos_token": 1}""", null, "tokenizer_config.json", "add_eos_token must be true or false; it is a number 1"),
        ["bos_token number"] = ("""{"bos_token": 1}""", null, "tokenizer_config.json", "bos_token must be a string or an object with a string \"content\"; it is a number 1"),
        ["eos_token object"] = ("""{"eos_token": {"text": "</s>"}}""", null, "tokenizer_config.json", "eos_token must be a string or an object with a string \"content\"; it is an object"),
        ["bos_token unknown"] = ("""{"bos_token": "<bos>"}""", null, "tokenizer_config.json", "bos_token must be a token of tokenizer.model or of added_tokens_decoder; \"<bos>\" is neither"),
        ["decoder id out of range"] = ("""{"bos_token": "<bos>", "added_tokens_decoder": {"400": {"content": "<bos>"}}}""", null, "tokenizer_config.json", "bos_token \"<bos>\" must be a token id of tokenizer.model (in [0, 400)); it is 400"),
        ["decoder key"] = ("""{"added_tokens_decoder": {"one": {"content": "<s>"}}}""", null, "tokenizer_config.json", "added_tokens_decoder keys must be non-negative integer ids; \"one\" is not"),
        ["decoder entry"] = ("""{"added_tokens_decoder": {"1": "<s>"}}""", null, "tokenizer_config.json", "added_tokens_decoder[\"1\"] must be an object with a string \"content\"; it is a string \"<s>\""),
        ["decoder array"] = ("""{"added_tokens_decoder": []}""", null, "tokenizer_config.json", "added_tokens_decoder must be an object of id → token; it is an array []"),
        ["tokenizer_config bad JSON"] = ("{", null, "tokenizer_config.json", "not valid JSON"),
        ["bos_token_id string"] = (null, """{"bos_token_id": "1"}""", "config.json", "bos_token_id must be a non-negative integer; it is a string \"1\""),
        ["bos_token_id out of range"] = (null, """{"bos_token_id": 400}""", "config.json", "bos_token_id must be a token id of tokenizer.model (in [0, 400)); it is 400"),
        ["eos_token_id list"] = (null, """{"eos_token_id": [2, -1]}""", "config.json", "eos_token_id[1] must be a non-negative integer; it is a number -1"),
        ["eos_token_id out of range"] = (null, """{"eos_token_id": 1000}""", "config.json", "eos_token_id must be a token id of tokenizer.model (in [0, 400)); it is 1000"),
        ["bos disagrees"] = ("""{"bos_token": "<s>"}""", """{"bos_token_id": 2}""", "config.json", "bos_token_id must name the BOS of tokenizer_config.json (bos_token \"<s>\" = id 1); it is 2"),
        ["config root"] = (null, "7", "config.json", "the root must be a JSON object; it is a number"),
    };

    public static TheoryData<string> ConfigRuleNames => new(ConfigRules.Keys);

    [Theory]
    [MemberData(nameof(ConfigRuleNames))]
    public void BrokenSpecialTokenSettingsAreRefused(string rule)
    {
        var (tokenizerConfig, config, file, message) = ConfigRules[rule];
        using var directory = HfModelDirectory.WithSentencePiece();
        if (tokenizerConfig is not null) directory.Write("tokenizer_config.json", tokenizerConfig);
        if (config is not null) directory.Write("config.json", config);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.StartsWith($"'{directory.File(file)}': ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("""{"add_bos_token": true}""", "a BOS token must be known when BOS is prepended")]
    [InlineData("""{"add_eos_token": true}""", "an EOS token must be known when add_eos_token is true")]
    public void AddingATokenNoFileNamesIsRefused(string tokenizerConfig, string message)
    {
        using var directory = new HfModelDirectory();
        directory.Write("tokenizer.json", ByteLevelBpeJson.Create());
        directory.Write("tokenizer_config.json", tokenizerConfig);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.StartsWith($"'{directory.File("tokenizer_config.json")}': ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void ATemplateThatPrependsAnotherTokenThanTheBosIsRefused()
    {
        var json = ByteLevelBpeJson.Create();
        json["post_processor"] = ByteLevelBpeJson.BeginTemplate(); // prepends <|begin|> (265)
        using var directory = new HfModelDirectory();
        directory.Write("tokenizer.json", json);
        directory.Write("tokenizer_config.json", """{"bos_token": "<|endoftext|>"}""");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains("tokenizer.json", error.Message);
        Assert.Contains("the post_processor template must prepend the BOS (id 264) or tokenizer_config.json must set add_bos_token; it prepends id 265", error.Message);
        directory.Write("tokenizer_config.json", """{"bos_token": "<|endoftext|>", "add_bos_token": true}""");
        Assert.Equal(new[] { 264, 257 }, HuggingFaceTokenizer.Load(directory.Path).EncodeWithSpecialTokens("he"));
    }

    private static JsonObject Model(JsonObject json) => json["model"]!.AsObject();
    private static JsonObject Vocab(JsonObject json) => Model(json)["vocab"]!.AsObject();
    private static JsonArray Merges(JsonObject json) => Model(json)["merges"]!.AsArray();
    private static JsonArray Added(JsonObject json) => json["added_tokens"]!.AsArray();

    private static JsonObject Sequence(params JsonNode[] steps) => new() { ["type"] = "Sequence", ["pretokenizers"] = new JsonArray(steps) };

    private static JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };

    private static JsonObject Split(string behavior, bool invert = false, string? pattern = @"\s+")
    {
        var split = new JsonObject { ["type"] = "Split", ["behavior"] = behavior, ["invert"] = invert };
        if (pattern is not null) split["pattern"] = new JsonObject { ["Regex"] = pattern };
        return split;
    }

    private static JsonObject TwoBefore()
    {
        var template = ByteLevelBpeJson.BeginTemplate();
        template["single"]!.AsArray().Insert(0, new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin|>", ["type_id"] = 0 } });
        return template;
    }
}
