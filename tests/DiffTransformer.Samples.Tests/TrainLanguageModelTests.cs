using DiffTransformer;
using TrainLanguageModel;

namespace DiffTransformer.Samples.Tests;

public class TrainLanguageModelTests
{
    internal static LanguageModelOptions Tiny(string output) => new()
    {
        Steps = 4,
        EvaluationInterval = 2,
        EmbedDim = 16,
        Context = 16,
        BatchSize = 4,
        GenerateTokens = 8,
        OutputDirectory = output,
    };

    [Fact]
    public void OptionsParseAndHelpExplainsEach()
    {
        Assert.Equal(new LanguageModelOptions(), OptionsParser.Parse(Array.Empty<string>()).Options);
        var parsed = OptionsParser.Parse(new[] { "--tokenizer", "cl100k", "--attention", "softmax", "--steps", "9", "--prompt", "Hi", "--generate", "3", "--out", "x", "--device", "CPU" });
        Assert.Equal(new LanguageModelOptions { Tokenizer = "cl100k", Attention = AttentionKind.Softmax, Steps = 9, Prompt = "Hi", GenerateTokens = 3, OutputDirectory = "x", Device = "cpu" }, parsed.Options);
        var cuda = OptionsParser.Parse(new[] { "--device", "CUDA" });
        if (TorchSharp.torch.cuda.is_available()) Assert.Equal(new LanguageModelOptions { Device = "cuda" }, cuda.Options);
        else
        {
            Assert.Contains("--device cuda: CUDA is not available.", cuda.Error);
            var (cudaCode, cudaOutput, cudaError) = EntryPoint.Run(typeof(LanguageModelRun).Assembly, "--device", "cuda");
            Assert.Equal(2, cudaCode);
            Assert.Equal("", cudaOutput);
            Assert.Contains("--device cuda: CUDA is not available.", cudaError);
        }
        Assert.Equal(-99999999999, OptionsParser.Parse(new[] { "--seed", "-99999999999" }).Options!.Seed); // a long, as in NeedleInAHaystack
        Assert.True(OptionsParser.Parse(new[] { "--steps", "0", "-h" }).ShowHelp);
        var (code, output, _) = EntryPoint.Run(typeof(LanguageModelRun).Assembly, "--help");
        Assert.Equal(0, code);
        Assert.Contains("dotnet run --project samples/TrainLanguageModel -c Release -- [options]", output);
        foreach (var option in new[] { "--data <FILE>", "--tokenizer <byte|cl100k>", "--attention <softmax|v1|v2>", "--steps <N>", "--seed <N>", "--device <cpu|cuda>", "--out <DIR>", "--prompt <TEXT>", "--generate <N>", "--threads <N>" })
            Assert.Contains(option, output);
        Assert.Contains("the checkpoint goes to DIR/checkpoint [default: lm-run]", output);
    }

    [Theory]
    [InlineData("--tokenizer gpt2", "--tokenizer: Argument 'gpt2' not recognized. Must be one of: 'byte' 'cl100k'")]
    [InlineData("--attention linear", "--attention: Argument 'linear' not recognized. Must be one of: 'v1' 'v2' 'softmax'")]
    [InlineData("--data /no/such/file.txt", "--data: File does not exist: '/no/such/file.txt'")]
    [InlineData("--generate -1", "--generate must be a whole number >= 1; got '-1'")]
    [InlineData("--data", "Required argument missing for option: '--data'")]
    [InlineData("--steps 0", "--steps must be a whole number >= 1; got '0'")]
    [InlineData("--seed 99999999999999999999", "--seed must be a whole number; got '99999999999999999999'")]
    [InlineData("--seed 1.5", "--seed must be a whole number; got '1.5'")]
    public void BadOptionsExitWithTwoAndAreExplained(string commandLine, string message)
    {
        string[] args = commandLine.Split(' ');
        var parsed = OptionsParser.Parse(args);
        Assert.Null(parsed.Options);
        Assert.Contains(message, parsed.Error);
        Assert.Contains("--help", parsed.Error);
        var (code, output, error) = EntryPoint.Run(typeof(LanguageModelRun).Assembly, args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public void TrainsOnTheGeneratedCorpusSavesALoadableCheckpointAndGenerates()
    {
        using var directory = new TempDirectory();
        var options = Tiny(directory.Path);
        var steps = new List<long>();
        var result = LanguageModelRun.Run(options, p => steps.Add(p.Step), TestContext.Current.CancellationToken);

        Assert.Equal(new long[] { 1, 2, 3, 4 }, steps);
        Assert.True(result.GeneratedCorpus);
        Assert.Contains("generated corpus", result.Corpus);
        Assert.Equal("bytes", result.Tokenizer);
        Assert.Equal(new long[] { 2, 4 }, result.Validation.Select(v => v.Step));
        Assert.True(result.TrainingLoss[^1] < result.TrainingLoss[0], $"loss {result.TrainingLoss[0]} -> {result.TrainingLoss[^1]}");
        Assert.False(string.IsNullOrEmpty(result.Generated));

        using var loaded = ModelCheckpoint.Load(result.CheckpointDirectory);
        Assert.Equal(result.Config, loaded.Config);
        Assert.Equal("bytes", ModelCheckpoint.ReadMetadata(result.CheckpointDirectory)["tokenizer"]);
        Assert.True(File.Exists(Path.Combine(result.CheckpointDirectory, ModelCheckpoint.TrainerStateFileName)), "the trainer state is saved for resuming");

        var (markdown, picture) = Report.Write(result, directory.Path);
        Assert.Contains("| parameters |", File.ReadAllText(markdown));
        Assert.Contains(result.Generated.Trim(), File.ReadAllText(markdown));
        Png.AssertValid(picture);

        var again = LanguageModelRun.Run(options, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(result.TrainingLoss, again.TrainingLoss);
        Assert.Equal(result.Generated, again.Generated);
    }

    [Fact]
    public void TrainsOnAUserFileWithTheCl100kTokenizer()
    {
        using var directory = new TempDirectory();
        string file = directory.File("corpus.txt");
        File.WriteAllText(file, string.Concat(Enumerable.Repeat("Differential attention cancels noise, like a differential amplifier. ", 60)));
        var result = LanguageModelRun.Run(Tiny(directory.Path) with { DataPath = file, Tokenizer = "cl100k", Steps = 2, BatchSize = 2 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(result.GeneratedCorpus);
        Assert.Equal("'corpus.txt'", result.Corpus);
        Assert.Equal("cl100k_base", result.Tokenizer);
        Assert.True(result.Config.TieEmbeddings, "the 100k vocabulary shares the embedding with the head");
        Assert.Equal(100277, result.Config.VocabSize);

        File.WriteAllText(file, "too short");
        var error = Assert.Throws<ArgumentException>(() => LanguageModelRun.Run(Tiny(directory.Path) with { DataPath = file }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("has 9 tokens", error.Message);
    }

    [Fact]
    public void ATooLongPromptIsRejectedBeforeTraining()
    {
        using var directory = new TempDirectory();
        var options = Tiny(directory.Path) with { Prompt = new string('a', 256) };
        var steps = new List<long>();
        var error = Assert.Throws<ArgumentException>(() => LanguageModelRun.Run(options, p => steps.Add(p.Step), TestContext.Current.CancellationToken));
        Assert.Contains("The prompt has 256 tokens; the model takes at most 255 before generating.", error.Message);
        Assert.Empty(steps);
        Assert.False(Directory.Exists(directory.File("checkpoint")), "nothing is trained or saved");

        var (code, output, stderr) = EntryPoint.Run(typeof(LanguageModelRun).Assembly, "--prompt", options.Prompt, "--out", directory.Path, "--steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("The prompt has 256 tokens", stderr);
        Assert.False(Directory.Exists(directory.File("checkpoint")), "nothing is trained or saved");
        Assert.DoesNotContain("Written:", output);

        var longest = LanguageModelRun.Run(options with { Prompt = new string('a', 255), Steps = 1 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(Directory.Exists(longest.CheckpointDirectory), "the longest prompt the model takes is accepted");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(999)]
    public void TheMinimumCorpusIsWhatTokenBatchesTakes(int context)
    {
        long needed = LanguageModelRun.MinimumCorpusTokens(context);
        using (new TokenBatches(new int[needed], 2, context, LanguageModelRun.ValidationFraction)) { }
        Assert.Throws<ArgumentException>(() => new TokenBatches(new int[needed - 1], 2, context, LanguageModelRun.ValidationFraction));
    }

    [Fact]
    public void TrainsOnTheSmallestCorpusAndExplainsAShorterOne()
    {
        using var directory = new TempDirectory();
        string file = directory.File("corpus.txt");
        var options = Tiny(directory.Path) with { DataPath = file, Steps = 1 };
        long needed = LanguageModelRun.MinimumCorpusTokens(options.Context);
        File.WriteAllText(file, new string('x', (int)needed));
        Assert.Equal(needed, LanguageModelRun.Run(options, cancellationToken: TestContext.Current.CancellationToken).CorpusTokens);

        File.WriteAllText(file, new string('x', (int)needed - 1));
        var error = Assert.Throws<ArgumentException>(() => LanguageModelRun.Run(options, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains($"has {needed - 1} tokens (byte tokenizer); windows of 16 need at least {needed}", error.Message);
    }

    [Fact]
    public void TheGeneratedCorpusUsesTheWholeSeed()
    {
        Assert.NotEqual(SyntheticCorpus.Generate(500, 7), SyntheticCorpus.Generate(500, (1L << 33) | 7));
    }

    [Theory]
    [InlineData("byte", "bytes")]
    [InlineData("bytes", "bytes")]
    [InlineData("cl100k", "cl100k_base")]
    [InlineData("cl100k_base", "cl100k_base")]
    public void TakesTheTokenizerNamesCheckpointsRecord(string name, string recorded)
    {
        using var directory = new TempDirectory();
        var result = LanguageModelRun.Run(Tiny(directory.Path) with { Tokenizer = name, Steps = 1, EmbedDim = 8, Layers = 1 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(recorded, result.Tokenizer);
        var error = Assert.Throws<ArgumentException>(() => LanguageModelRun.Run(Tiny(directory.Path) with { Tokenizer = "gpt2" }, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("tokenizer must be byte or cl100k; got 'gpt2'.", error.Message);
    }
}
