using System.Text.RegularExpressions;
using DiffTransformer;
using RunPretrained;

namespace DiffTransformer.Samples.Tests;

/// <summary>
/// RunPretrained on copies of golden Hugging Face directories (random weights: the text is gibberish, so the tests check
/// the structure of the output and that the streamed ids are the library's own <c>Generate</c>).
/// </summary>
public partial class RunPretrainedTests
{
    private static readonly System.Reflection.Assembly Sample = typeof(PretrainedRun).Assembly;

    [GeneratedRegex(@"^(\d+) new tokens in \d+\.\d\d s: \d+\.\d tokens/s \(first token after \d+ ms\); (reached --max-new-tokens \d+|stopped at stop token \d+)\.$", RegexOptions.Multiline)]
    private static partial Regex SpeedLine();

    [Fact]
    public void StreamsWhatTheLibraryGeneratesFromAGoldenDiffLlamaDirectory()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "diffllama_mha");
        const string prompt = "The café opens at 9";

        var (code, output, error) = EntryPoint.Run(Sample, "--model", model, "--prompt", prompt, "--max-new-tokens", "12");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("Tokenizer: diffllama_mha/tokenizer.model (vocabulary 400, BOS 1 prepended)", output);
        Assert.Contains("Loading model.safetensors (586.4 KB) ...", output);
        Assert.Contains("Model: DiffLlama (differential attention), 2 layers, hidden 64, vocabulary 400, 145,920 parameters, float32 on cpu; loaded in ", output);
        Assert.Contains("; stop tokens: 2", output);
        var speed = SpeedLine().Match(output.ReplaceLineEndings("\n"));
        Assert.True(speed.Success, output);

        // The same prompt straight through the library: BOS per the tokenizer config, greedy, the model's stop tokens.
        var tokenizer = HuggingFaceTokenizer.Load(model);
        int[] ids = tokenizer.EncodeWithSpecialTokens(prompt);
        Assert.Equal(1, ids[0]);
        GeneratedSequence expected;
        using (var loaded = HuggingFaceCheckpoint.Load(model))
            expected = loaded.Generate(ids.Select(i => (long)i).ToArray(), new GenerationOptions { MaxNewTokens = 12 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(expected.Tokens.Count, int.Parse(speed.Groups[1].Value));

        using var writer = new StringWriter();
        var result = PretrainedRun.Run(new RunOptions { ModelDirectory = model, Prompt = prompt, MaxNewTokens = 12 }, writer);
        Assert.Equal(ids.Select(i => (long)i), result.PromptIds);
        Assert.Equal(expected.Tokens, result.Generated);
        Assert.Equal(expected.FinishReason, result.FinishReason);
        Assert.Equal(new[] { "model.safetensors" }, result.WeightFiles);
        Assert.True(result.TokensPerSecond > 0);

        // The prompt, then the continuation: the whole text decoded, less the prompt's text (a stop token prints nothing).
        var text = expected.Tokens.Where((_, i) => i < expected.Tokens.Count - 1 || expected.FinishReason != FinishReason.StopToken);
        string whole = tokenizer.Decode(ids.Concat(text.Select(t => (int)t)).ToArray());
        string continuation = whole[tokenizer.Decode(ids).Length..];
        Assert.Equal(continuation, result.Continuation);
        Assert.Contains(prompt + continuation + Environment.NewLine, output);
        Assert.Contains(prompt + continuation, writer.ToString());
    }

    [Fact]
    public void SamplingWithASeedIsTheLibrarysSamplingWithThatSeed()
    {
        using var directory = new TempDirectory();
        string model = GoldenHf.Copy(directory, "diffllama_mha");
        var options = new RunOptions { ModelDirectory = model, Prompt = "Hello", MaxNewTokens = 8, Temperature = 0.9, Seed = 5 };
        var first = PretrainedRun.Run(options, new StringWriter());
        var second = PretrainedRun.Run(options, new StringWriter());
        Assert.Equal(first.Generated, second.Generated);
        using var loaded = HuggingFaceCheckpoint.Load(model);
        var expected = loaded.Generate(first.PromptIds, new GenerationOptions { MaxNewTokens = 8, Temperature = 0.9, Seed = 5 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(expected.Tokens, first.Generated);

        var (code, output, _) = EntryPoint.Run(Sample, "--model", model, "--prompt", "Hello", "--max-new-tokens", "8", "--temperature", "0.9", "--seed", "5", "--dtype", "BFloat16");
        Assert.Equal(0, code);
        Assert.Contains("(sampling at temperature 0.9, seed 5)", output);
        Assert.Contains("bfloat16 on cpu", output);
    }

    [Fact]
    public void MultiByteCharactersPrintWholeAsTheirLastTokenArrives()
    {
        using var directory = new TempDirectory();
        var tokenizer = HuggingFaceTokenizer.Load(GoldenHf.Copy(directory, "diffllama_mha"));
        const string text = " café, naïve 😀 and 9 ü\nend";
        int[] prompt = tokenizer.EncodeWithSpecialTokens("Say");
        int[] ids = tokenizer.Encode(text);
        Assert.True(ids.Length > text.Length / 2, "the text should need byte pieces"); // é, ï, ü and the emoji are UTF-8 bytes here

        var decoder = new StreamingDecoder(i => tokenizer.Decode(i), prompt);
        var pieces = ids.Select(decoder.Push).ToList();
        pieces.Add(decoder.Finish());
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        Assert.Contains("😀", pieces); // the emoji's four byte pieces print as one piece, when the fourth arrives
        string expected = tokenizer.Decode(prompt.Concat(ids).ToArray())[tokenizer.Decode(prompt).Length..];
        Assert.Equal(expected, string.Concat(pieces));
        Assert.Equal(expected, decoder.Text);

        // An incomplete character at the end prints as U+FFFD once the stream ends.
        var cut = new StreamingDecoder(i => tokenizer.Decode(i), prompt);
        int[] emoji = tokenizer.Encode("😀");
        Assert.Equal(" ", string.Concat(emoji[..^1].Select(cut.Push))); // the dummy-prefix space, then three of the four bytes held back
        Assert.Contains('\uFFFD', cut.Finish());
    }

    [Fact]
    public void WeightFilesAreTheIndexedShards()
    {
        using var directory = new TempDirectory();
        string sharded = GoldenHf.Copy(directory, "diffllama_gqa_tied_sharded");
        var files = WeightFiles.In(sharded);
        Assert.Equal(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" }, files.Select(f => f.Name));
        Assert.Equal(199_296 + 132_768, files.Sum(f => f.Length));
        Assert.Equal("332.1 KB", WeightFiles.Size(files.Sum(f => f.Length)));
        Assert.Equal("999 bytes", WeightFiles.Size(999));
        Assert.Equal("1.5 GB", WeightFiles.Size(1_500_000_000));
    }
}
