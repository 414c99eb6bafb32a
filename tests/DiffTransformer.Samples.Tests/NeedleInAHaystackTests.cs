using DiffTransformer;
using DiffTransformer.Retrieval;
using NeedleInAHaystack;

namespace DiffTransformer.Samples.Tests;

public class NeedleInAHaystackTests
{
    /// <summary>A run small enough for a test: the same code path as the default, fewer and smaller everything.</summary>
    internal static ExperimentOptions Tiny(string output) => new()
    {
        Steps = 6,
        EvaluationInterval = 3,
        EmbedDim = 16,
        SequenceLength = 24,
        Needles = 3,
        BatchSize = 8,
        ValidationExamples = 16,
        OutputDirectory = output,
        Seed = 3,
    };

    [Fact]
    public void DefaultsAndEveryOptionParse()
    {
        var defaults = OptionsParser.Parse(Array.Empty<string>());
        Assert.Equal(new ExperimentOptions(), defaults.Options);
        var parsed = OptionsParser.Parse(new[] { "--steps", "40", "--seed", "-5", "--device", "CPU", "--out", "dir", "--threads", "2", "--shared-values" });
        Assert.Null(parsed.Error);
        Assert.Equal(new ExperimentOptions { Steps = 40, Seed = -5, Device = "cpu", OutputDirectory = "dir", Threads = 2, KeyedValues = false }, parsed.Options);
        var cuda = OptionsParser.Parse(new[] { "--device", "CUDA" });
        if (TorchSharp.torch.cuda.is_available()) Assert.Equal(new ExperimentOptions { Device = "cuda" }, cuda.Options);
        else Assert.Contains("--device cuda: CUDA is not available.", cuda.Error);
        Assert.True(OptionsParser.Parse(new[] { "--steps", "3", "--help" }).ShowHelp);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps must be a whole number >= 1; got '0'")]
    [InlineData("--steps", "ten", "--steps must be a whole number >= 1; got 'ten'")]
    [InlineData("--seed", "1.5", "--seed must be a whole number; got '1.5'")]
    [InlineData("--device", "tpu", "--device: Argument 'tpu' not recognized. Must be one of: 'cpu' 'cuda'")]
    [InlineData("--threads", "0", "--threads must be a whole number from 1 to 256; got '0'")]
    [InlineData("--out", " ", "--out must be a directory path; got ' '")]
    [InlineData("--colour", "red", "Unrecognized command or argument '--colour'")]
    public void BadOptionsAreExplained(string name, string value, string message)
    {
        var parsed = OptionsParser.Parse(new[] { name, value });
        Assert.Null(parsed.Options);
        Assert.False(parsed.ShowHelp);
        Assert.Contains(message, parsed.Error);
        Assert.Contains("--help", parsed.Error);
        var (code, output, error) = EntryPoint.Run(typeof(ExperimentRunner).Assembly, name, value);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public void TheProgramExitsWithTwoOnBadOptionsAndPrintsHelp()
    {
        var program = typeof(ExperimentRunner).Assembly;
        var (code, _, error) = EntryPoint.Run(program, "--steps");
        Assert.Equal(2, code);
        Assert.Contains("Required argument missing for option: '--steps'", error);
        (code, var output, _) = EntryPoint.Run(program, "--help");
        Assert.Equal(0, code);
        Assert.Equal(OptionsParser.Usage + Environment.NewLine, output);
        Assert.Contains("Usage:\n  dotnet run --project samples/NeedleInAHaystack -c Release -- [options]", output.ReplaceLineEndings("\n"));
        Assert.Contains("--device <cpu|cuda>", output);
        Assert.Contains("--steps <N>          training steps per model [default: 400]", output);
        Assert.Contains("two attention hops", output);
        if (!TorchSharp.torch.cuda.is_available())
        {
            (code, output, error) = EntryPoint.Run(program, "--device", "cuda");
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Contains("--device cuda: CUDA is not available.", error);
        }
    }

    [Fact]
    public void TheLineupIsParameterMatched()
    {
        var lineup = ModelLineup.Create(new ExperimentOptions(), new NeedleRetrievalTask().VocabSize);
        Assert.Equal(new[] { AttentionKind.Differential, AttentionKind.DifferentialV2, AttentionKind.Softmax }, lineup.Select(c => c.Config.Attention));
        Assert.Equal(2 * lineup[0].Config.NumHeads, lineup[2].Config.NumHeads);
        Assert.Equal(lineup[2].Config.NumHeads, lineup[1].Config.NumHeads);
        Assert.True(lineup[1].Config.ResolvedFfnHiddenDim < lineup[2].Config.ResolvedFfnHiddenDim, "V2 pays for its extra heads in the SwiGLU");
        long baseline = ModelLineup.ParameterCount(lineup[2].Config);
        foreach (var contestant in lineup)
        {
            long count = ModelLineup.ParameterCount(contestant.Config);
            Assert.True(Math.Abs(count - baseline) <= 0.005 * baseline, $"{contestant.Name} has {count} parameters, the baseline {baseline}");
        }
    }

    [Fact]
    public void ATinyRunProducesItsTableAndPicturesAndIsDeterministic()
    {
        using var directory = new TempDirectory();
        var options = Tiny(directory.Path);
        var reports = new List<RunProgress>();
        var results = ExperimentRunner.Run(options, reports.Add, TestContext.Current.CancellationToken);

        Assert.Equal(3 * 6, reports.Count);
        Assert.Equal(new[] { "Diff V1", "Diff V2", "Softmax" }, results.Models.Select(m => m.Name));
        foreach (var model in results.Models)
        {
            Assert.Equal(6, model.TrainingLoss.Count);
            Assert.Equal(new[] { 3, 6 }, model.Validation.Select(v => v.Step));
            Assert.All(model.TrainingLoss, l => Assert.True(double.IsFinite(l)));
            Assert.Equal(16, model.Final.Correct.Count);
            Assert.Equal(model.Validation[^1].Accuracy, model.Final.Accuracy);   // the last point is the final evaluation
            Assert.Equal(model.Validation[^1].Loss, model.Final.Loss);
            Assert.True(model.Final.Allocation.Answer > 0 && model.Final.Allocation.Distractors > 0);
            Assert.True(model.TokensPerSecond > 0);
            Assert.Equal(24, model.Example.TokenLabels.Count);
            Assert.Equal(options.Layers * model.Config.NumHeads, model.Example.QueryRows.Length);
            Assert.Equal(model.Config.Attention == AttentionKind.Differential ? 16 / model.Config.NumHeads / 2 : 16 / model.Config.NumHeads, model.HeadDim);
        }

        var report = ReportWriter.Write(results, directory.Path);
        var markdown = File.ReadAllText(report.Markdown);
        foreach (var header in ReportWriter.Headers(results)) Assert.Contains(header, markdown);
        Assert.Contains($"- Diff V1: Differential, 2 heads, head size 4,", markdown);
        foreach (var model in results.Models)
            Assert.Contains($"| {model.Name} | {model.Parameters:N0} | {model.FinalTrainingLoss:F3} | {model.Final.Loss:F3} |", markdown);
        Assert.Equal(3, report.Pictures.Count);
        foreach (var picture in report.Pictures) Png.AssertValid(picture);

        var again = ExperimentRunner.Run(options, cancellationToken: TestContext.Current.CancellationToken);
        for (int m = 0; m < 3; m++)
        {
            Assert.Equal(results.Models[m].TrainingLoss, again.Models[m].TrainingLoss);   // bit for bit on the CPU
            Assert.Equal(results.Models[m].Final.Correct, again.Models[m].Final.Correct);
            Assert.Equal(results.Models[m].Final.Allocation, again.Models[m].Final.Allocation);
        }
        var otherSeed = ExperimentRunner.Run(options with { Seed = 4, Steps = 1 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotEqual(results.Models[0].TrainingLoss[0], otherSeed.Models[0].TrainingLoss[0]);
    }
}
