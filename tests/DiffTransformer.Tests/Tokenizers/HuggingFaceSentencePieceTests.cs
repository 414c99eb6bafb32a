namespace DiffTransformer.Tests.Tokenizers;

/// <summary>
/// tokenizer.model (SentencePiece BPE) against ids from SentencePiece itself: tokenizer_golden.json (shared/golden-hf)
/// and tokenizer_golden_extra.json (Debian's python3-sentencepiece 0.1.97 on the same model).
/// </summary>
public sealed class HuggingFaceSentencePieceTests
{
    [Theory]
    [InlineData("tokenizer_golden.json")]
    [InlineData("tokenizer_golden_extra.json")]
    public void IdsAndTextEqualSentencePiecesOwn(string golden)
    {
        var tokenizer = HuggingFaceTokenizer.Load(HfModelDirectory.DiffLlama);
        var cases = HfModelDirectory.Cases(Path.Combine(HfModelDirectory.DiffLlama, golden)).ToList();
        Assert.True(cases.Count >= 9);
        foreach (var (text, ids, decoded, idsWithBos) in cases)
        {
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"ids of {text}");
            Assert.Equal(decoded, tokenizer.Decode(ids));
            Assert.Equal(idsWithBos, tokenizer.EncodeWithSpecialTokens(text));
            Assert.Equal(decoded, tokenizer.Decode(idsWithBos)); // BOS gives no text, as in SentencePiece's decode
        }
    }

    [Fact]
    public void TheGoldenDirectoryFollowsTheLlamaConvention()
    {
        // The fixture has tokenizer.model only: BOS/EOS are the model's own (1, 2), BOS is prepended, EOS is not.
        var tokenizer = HuggingFaceTokenizer.Load(HfModelDirectory.DiffLlama);
        Assert.Equal("diffllama_mha/tokenizer.model", tokenizer.Name);
        Assert.Equal(HuggingFaceTokenizer.SentencePieceFile, tokenizer.SourceFile);
        Assert.Equal(400, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(new[] { 2 }, tokenizer.EosTokenIds);
        Assert.True(tokenizer.AddsBos);
        Assert.False(tokenizer.AddsEos);
        Assert.Equal(new[] { 1 }, tokenizer.EncodeWithSpecialTokens(""));
        Assert.Equal("", tokenizer.Decode(ReadOnlySpan<int>.Empty));
        Assert.Equal("<s>", tokenizer.Decode(tokenizer.Encode("<s>"))); // "<s>" in the text is text, as in SentencePiece
        Assert.DoesNotContain(1, tokenizer.Encode("<s>"));
    }

    [Fact]
    public void TokenizerConfigAndConfigJsonSetBosAndEos()
    {
        using var directory = HfModelDirectory.WithSentencePiece();
        directory.Write("tokenizer_config.json", """
            {"add_bos_token": false, "add_eos_token": true,
             "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false}, "eos_token": "</s>",
             "added_tokens_decoder": {"0": {"content": "<unk>", "special": true}, "1": {"content": "<s>", "special": true}, "2": {"content": "</s>", "special": true}}}
            """);
        directory.Write("config.json", """{"bos_token_id": 1, "eos_token_id": [2, 13], "vocab_size": 400}""");
        var tokenizer = HuggingFaceTokenizer.Load(directory.Path);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(new[] { 2, 13 }, tokenizer.EosTokenIds); // the tokenizer's EOS first, then config.json's others
        Assert.False(tokenizer.AddsBos);
        Assert.True(tokenizer.AddsEos);
        int[] ids = tokenizer.Encode("Hello world");
        Assert.Equal(ids.Append(2), tokenizer.EncodeWithSpecialTokens("Hello world"));
    }

    [Fact]
    public void ConfigJsonAloneGivesTheIds()
    {
        using var directory = HfModelDirectory.WithSentencePiece();
        directory.Write("config.json", """{"bos_token_id": 1, "eos_token_id": 2}""");
        directory.Write("tokenizer_config.json", """{"bos_token": null, "eos_token": null}""");
        var tokenizer = HuggingFaceTokenizer.Load(directory.Path);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(new[] { 2 }, tokenizer.EosTokenIds);
        Assert.True(tokenizer.AddsBos); // add_bos_token absent: LlamaTokenizer's default
    }

    [Fact]
    public void DecodeRejectsIdsOutsideTheVocabulary()
    {
        var tokenizer = HuggingFaceTokenizer.Load(HfModelDirectory.DiffLlama);
        foreach (int id in new[] { -1, 400 })
        {
            var error = Assert.Throws<ArgumentException>(() => tokenizer.Decode(new[] { 5, id }));
            Assert.Equal("ids", error.ParamName);
            Assert.Contains($"ids[1] is {id}", error.Message);
            Assert.Contains("[0, 400)", error.Message);
        }
        Assert.Throws<ArgumentNullException>(() => tokenizer.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => tokenizer.EncodeWithSpecialTokens(null!));
    }

    [Fact]
    public void UnigramModelsAreRefused()
    {
        // Microsoft.ML.Tokenizers 2.0.1's Unigram disagrees with SentencePiece on byte-fallback text (its golden file,
        // made by python3-sentencepiece, has such cases), so Unigram models are refused rather than half right.
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(HfModelDirectory.Unigram));
        Assert.Contains("tokenizer.model", error.Message);
        Assert.Contains("model_type must be BPE", error.Message);
        Assert.Contains("UNIGRAM", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF })]       // not a protobuf
    [InlineData(new byte[] { 0x0A, 0x40, 0x01 })]       // a field longer than the file
    [InlineData(new byte[] { 0x12, 0x02, 0x18, 0x02 })] // trainer_spec says BPE but there are no pieces
    public void FilesThatAreNotSentencePieceModelsAreRefused(byte[] bytes)
    {
        using var directory = new HfModelDirectory();
        File.WriteAllBytes(directory.File("tokenizer.model"), bytes);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains(directory.File("tokenizer.model"), error.Message);
        Assert.Matches("must (be a SentencePiece model|hold at least one piece)", error.Message);
    }

    [Fact]
    public void AFieldLengthOver2GiBIsRefusedAsMalformed()
    {
        // Fuzz finding (fuzz/findings/tokenizer-model/length-over-2gib.model): field 1 declaring 2^32 - 1 bytes threw
        // OverflowException from a checked cast instead of the reader's InvalidDataException.
        using var directory = new HfModelDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fuzz", "findings", "tokenizer-model", "length-over-2gib.model"), directory.File("tokenizer.model"));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains(directory.File("tokenizer.model"), error.Message);
        Assert.Contains("must be a SentencePiece model (a ModelProto protobuf); it is not (malformed at byte 6)", error.Message);
    }

    [Fact]
    public void AByteFallbackModelWithoutItsBytePiecesIsRefused()
    {
        // Fuzz finding (fuzz/findings/tokenizer-model/byte-piece-renamed.model, the golden model with a few bytes
        // changed): it loaded, and then "ö" encoded to ids past the vocabulary (Microsoft.ML.Tokenizers encodes a byte
        // as the id of <0x00> plus the byte), which Decode refused.
        using var directory = new HfModelDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fuzz", "findings", "tokenizer-model", "byte-piece-renamed.model"), directory.File("tokenizer.model"));
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains(directory.File("tokenizer.model"), error.Message);
        Assert.Contains("with trainer_spec.byte_fallback the pieces <0x00> to <0xFF> must have consecutive ids", error.Message);
    }

    [Fact]
    public void ADirectoryWithoutTokenizerFilesIsRefused()
    {
        using var directory = new HfModelDirectory();
        directory.Write("config.json", "{}");
        var error = Assert.Throws<FileNotFoundException>(() => HuggingFaceTokenizer.Load(directory.Path));
        Assert.Contains("tokenizer.json", error.Message);
        Assert.Contains("tokenizer.model", error.Message);
        Assert.Contains(directory.Path, error.Message);
        Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceTokenizer.Load(directory.File("missing")));
        Assert.Throws<ArgumentException>(() => HuggingFaceTokenizer.Load(" "));
        Assert.Throws<ArgumentNullException>(() => HuggingFaceTokenizer.Load(null!));
    }
}
