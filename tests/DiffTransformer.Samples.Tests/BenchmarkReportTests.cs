namespace DiffTransformer.Samples.Tests;

/// <summary>The README's benchmark command, run as a process at the smallest size its options allow.</summary>
public class BenchmarkReportTests
{
    [Fact]
    public void ATinyReportRunsAndWritesItsMarkdown()
    {
        using var directory = new TempDirectory();
        string report = directory.File("report.md");
        var (exitCode, output) = Report("report", "--sections", "layers", "--layer-times", "256", "--rounds", "1", "--out", report);
        Assert.True(exitCode == 0, output);
        string text = File.ReadAllText(report);
        Assert.Contains("# DiffTransformer benchmark report", text);
        Assert.Contains("| 256 | Diff V1, 4 heads (q/k 2x64, v 128) |", text);
        Assert.Contains("| 256 | softmax, 8 heads of 64 | 1,048,576 |", text);
        Assert.DoesNotContain("## Whole-model training step", text); // only the section asked for
    }

    [Theory]
    [InlineData("--rounds", "x", "--rounds must be a positive integer; got 'x'.")]
    [InlineData("--sections", "layers,foo", "--sections takes layers, training, generation, memory; got 'layers,foo'.")]
    [InlineData("--naive-memory-cap-gib", "-1", "--naive-memory-cap-gib must be a positive number; got '-1'.")]
    [InlineData("--bogus", "1", "Unknown option '--bogus'.")]
    public void BadOptionsExitWithTwoAndSayWhy(string option, string value, string message)
    {
        var (exitCode, output) = Report("report", option, value);
        Assert.Equal(2, exitCode);
        Assert.Contains(message, output);
        Assert.DoesNotContain("(Parameter", output);
    }

    private static (int ExitCode, string Output) Report(params string[] args)
    {
        var (exitCode, output, error) = BuiltProgram.Run("benchmarks/DiffTransformer.Benchmarks", args, TimeSpan.FromMinutes(3));
        return (exitCode, output + error);
    }
}
