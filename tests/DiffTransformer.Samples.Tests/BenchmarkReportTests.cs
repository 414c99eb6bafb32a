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
        Assert.Contains("| naive ms | fused ms | auto ms | auto / faster | auto ran |", text);
        // V1 trains naive at 256 positions by its default rule and infers fused; softmax is always fused.
        Assert.Matches(@"\| 256 \| Diff V1, 4 heads \(q/k 2x64, v 128\) \| [\d,]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \| naive \|", text);
        Assert.Matches(@"\| 256 \| Diff V1, 4 heads \(q/k 2x64, v 128\) \| [\d,]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \| fused \|", text);
        Assert.DoesNotMatch(@"\| softmax, 8 heads of 64 \| [\d,]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \| naive \|", text);
        Assert.DoesNotContain("## Whole-model training step", text); // only the section asked for
    }

    [Fact]
    public void ATinyDecodingSectionRelatesEachStepToTheMeasuredBandwidth()
    {
        using var directory = new TempDirectory();
        string report = directory.File("report.md");
        var (exitCode, output) = Report("report", "--sections", "decoding", "--decoding-layers", "1", "--decoding-positions", "8,16",
            "--rounds", "1", "--out", report);
        Assert.True(exitCode == 0, output);
        string text = File.ReadAllText(report);
        Assert.Contains("## Decoding against the memory-bandwidth limit", text);
        Assert.Matches(@"limit = the faster read, [\d.]+ GB/s", text);
        foreach (string kind in new[] { "Softmax", "Differential", "DifferentialV2" })
        {
            Assert.Matches($@"\| {kind} \| [\d.]+ M \| 8 \| \d+ \| [\d.]+ \| [\d.]+ \| \d+% \| 1 \| \d+ \([\d.]+\) \|", text);
            Assert.Matches($@"\| {kind} \| [\d.]+ M \| 16 \| \d+ \| [\d.]+ \| [\d.]+ \| \d+% \| [\d.]+x \|  \|", text);
            Assert.Matches($@"\| {kind} \| 16 \| \d+ \| \d+ \| \d+ \| [\d.]+ \|", text);
        }
    }

    [Fact]
    public void ATinyProfileTimesEveryOpOfBothFusedPathsBesideTheLayers()
    {
        using var directory = new TempDirectory();
        string report = directory.File("report.md");
        var (exitCode, output) = Report("report", "--sections", "profile", "--profile-time", "32", "--rounds", "1", "--out", report);
        Assert.True(exitCode == 0, output);
        string text = File.ReadAllText(report);
        Assert.Contains("## Where a V1 training call goes: time per op", text);
        Assert.Matches(@"\| SDPA \(4 heads of 128, causal\) × 2 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \|", text);
        Assert.Matches(@"\| SDPA \(8 heads of 64, causal\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \|", text);
        Assert.Matches(@"\| placement of k1, k2 \(zero halves\) \| [\d.]+ \| [\d.]+ \|", text);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(text, @"\| \*\*the layer itself\*\* \(module call and backward\) \| [\d.]+ \| [\d.]+ \| \*\*[\d.]+\*\* \|").Count);
        Assert.Matches(@"V1 / softmax: layers [\d.]+x; sums of the ops [\d.]+x; the SDPA calls alone [\d.]+x", text);
    }

    [Fact]
    public void ATinyLoadingSectionMeasuresEveryCheckpointInAChildProcess()
    {
        if (!File.Exists("/proc/self/status")) return; // the section reads peak memory from /proc (Linux)
        using var directory = new TempDirectory();
        string report = directory.File("report.md");
        var (exitCode, output) = Report("report", "--sections", "loading", "--loading-parameters", "2M", "--loading-repeats", "1", "--out", report);
        Assert.True(exitCode == 0, output);
        string text = File.ReadAllText(report);
        Assert.Contains("## Loading Hugging Face checkpoints", text);
        Assert.Contains("| model | params | stored -> loaded as | files | weight files MB | load s | of which build s | MB/s | added peak MiB | model MiB | added peak / model |", text);
        foreach (string model in new[] { "llama", "diffllama" })
        foreach (string conversion in new[] { "float32 -> float32", "bf16 -> bf16", "bf16 -> float32" })
        {
            Assert.Matches($@"\| {model} \| [\d,]+ \| {conversion} \| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+x \|", text);
            Assert.Matches($@"\| {model} \| [\d,]+ \| {conversion} \| \d+ shards \|", text);
        }
        Assert.Contains("| model | dtype | build s | added peak MiB | model MiB | added peak / model |", text);
        Assert.Contains("- bf16 loaded as bfloat16 makes no float32 copy", text);
        Assert.DoesNotContain("failed", text);
        Assert.DoesNotContain("## Attention layer", text);
    }

    [Theory]
    [InlineData("--rounds", "x", "--rounds must be a positive integer; got 'x'.")]
    [InlineData("--sections", "layers,foo", "--sections takes layers, training, generation, decoding, profile, memory, loading; got 'layers,foo'.")]
    [InlineData("--loading-parameters", "2X", "--loading-parameters must be a positive count such as 2000000, 500K or 2M; got '2X'.")]
    [InlineData("--loading-parameters", "0", "--loading-parameters must be a positive count such as 2000000, 500K or 2M; got '0'.")]
    [InlineData("--loading-repeats", "0", "--loading-repeats must be a positive integer; got '0'.")]
    [InlineData("--naive-memory-cap-gib", "-1", "--naive-memory-cap-gib must be a positive number; got '-1'.")]
    [InlineData("--profile-time", "0", "--profile-time must be a positive integer; got '0'.")]
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
