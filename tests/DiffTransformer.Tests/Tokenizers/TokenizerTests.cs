namespace DiffTransformer.Tests.Tokenizers;

public sealed class TokenizerTests
{
    private const string Sample = "Hello, world! Grüße, 世界 🙂\n\ttabs and  spaces";

    [Fact]
    public void ByteTokenizerRoundTripsAnyText()
    {
        var tokenizer = ByteTokenizer.Instance;
        int[] ids = tokenizer.Encode(Sample);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(Sample), ids.Length);
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
        Assert.Equal(Sample, tokenizer.Decode(ids));
        Assert.Equal(new[] { 72, 105 }, tokenizer.Encode("Hi"));
        Assert.Equal(256, tokenizer.VocabSize);
        Assert.Equal("bytes", tokenizer.Name);
        Assert.Empty(tokenizer.Encode(""));
    }

    [Fact]
    public void ByteTokenizerRejectsIdsOutsideItsVocabulary()
    {
        var error = Assert.Throws<ArgumentException>(() => ByteTokenizer.Instance.Decode(new[] { 65, 256 }));
        Assert.Equal("ids", error.ParamName);
        Assert.Contains("ids[1] is 256", error.Message);
        Assert.Throws<ArgumentException>(() => ByteTokenizer.Instance.Decode(new[] { -1 }));
        Assert.Equal("\uFFFD", ByteTokenizer.Instance.Decode(new[] { 0xC3 })); // a cut UTF-8 sequence decodes, replaced
    }

    [Fact]
    public void Cl100kMatchesTheReferenceEncoding()
    {
        var tokenizer = Cl100kTokenizer.Instance;
        // Ids from OpenAI's tiktoken for cl100k_base.
        Assert.Equal(new[] { 15339, 1917 }, tokenizer.Encode("hello world"));
        Assert.Equal(new[] { 100257 }, tokenizer.Encode("<|endoftext|>"));
        Assert.Equal(100257, tokenizer.EndOfText);
        Assert.Equal(100277, tokenizer.VocabSize);
        Assert.Equal("cl100k_base", tokenizer.Name);
        int[] ids = tokenizer.Encode(Sample);
        Assert.True(ids.Length < System.Text.Encoding.UTF8.GetByteCount(Sample));
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
        Assert.Equal(Sample, tokenizer.Decode(ids));
        Assert.Equal("hello world<|endoftext|>", tokenizer.Decode(new[] { 15339, 1917, 100257 }));
    }

    [Fact]
    public void Cl100kRejectsUnusedAndOutOfRangeIds()
    {
        foreach (int id in new[] { -1, 100256, 100261, 100277 })
        {
            var error = Assert.Throws<ArgumentException>(() => Cl100kTokenizer.Instance.Decode(new[] { 15339, id }));
            Assert.Equal("ids", error.ParamName);
            Assert.Contains($"ids[1] is {id}", error.Message);
        }
        Assert.Equal(100277, Cl100kTokenizer.Instance.VocabSize);
        Cl100kTokenizer.Instance.Decode(new[] { 0, 100255, 100257, 100276 }); // the edges of both ranges are valid
    }

    [Fact]
    public void TokenizersFeedTheModel()
    {
        ITokenizer tokenizer = Cl100kTokenizer.Instance;
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential, vocab: tokenizer.VocabSize) with { TieEmbeddings = true });
        var ids = tokenizer.Encode("differential attention cancels noise");
        using var tokens = TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var logits = model.forward(tokens);
        Assert.Equal(new long[] { 1, ids.Length, tokenizer.VocabSize }, logits.shape);
    }
}
