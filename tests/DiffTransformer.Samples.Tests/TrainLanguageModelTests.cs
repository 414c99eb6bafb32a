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
    public void OptionsParseAndBadOnesAreExplained()
    {
        Assert.Equal(new LanguageModelOptions(), OptionsParser.Parse(Array.Empty<string>()).Options);
        var parsed = OptionsParser.Parse(new[] { "--tokenizer", "cl100k", "--attention", "softmax", "--steps", "9", "--prompt", "Hi", "--generate", "3", "--out", "x" });
        Assert.Equal(new LanguageModelOptions { Tokenizer = "cl100k", Attention = AttentionKind.Softmax, Steps = 9, Prompt = "Hi", GenerateTokens = 3, OutputDirectory = "x" }, parsed.Options);
        Assert.Contains("--tokenizer must be byte or cl100k; got 'gpt2'", OptionsParser.Parse(new[] { "--tokenizer", "gpt2" }).Error);
        Assert.Contains("--attention must be v1, v2 or softmax", OptionsParser.Parse(new[] { "--attention", "linear" }).Error);
        Assert.Contains("does not exist", OptionsParser.Parse(new[] { "--data", "/no/such/file.txt" }).Error);
        Assert.Contains("--generate must be a whole number >= 1", OptionsParser.Parse(new[] { "--generate", "-1" }).Error);
        Assert.Contains("needs a value", OptionsParser.Parse(new[] { "--data" }).Error);
        var (code, _, error) = EntryPoint.Run(typeof(LanguageModelRun).Assembly, "--steps", "0");
        Assert.Equal(2, code);
        Assert.Contains("--steps must be a whole number >= 1; got '0'", error);
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
        string file = directory.Combine("corpus.txt");
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
}
