using DiffTransformer.Fuzz;

namespace DiffTransformer.Tests.Robustness;

/// <summary>
/// Replays the fuzz seed corpus (fuzz/corpus/TARGET) and every committed finding (fuzz/findings/TARGET) through the same
/// target code AFL++ runs (fuzz/Targets), so the readers' invariant is checked in every test run: a valid result, or an
/// InvalidDataException / ArgumentException naming the file; no other exception, at most 64 MiB of managed
/// allocations per input. The time bound is 5 s here instead of the campaign's 1 s, so that a loaded CI machine cannot
/// make the test flaky; a reader that hangs still fails it.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static readonly TimeSpan ReplayTime = TimeSpan.FromSeconds(5);
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fuzz");

    public static TheoryData<string> Targets => new(ReaderTargets.Names);

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCorpusFileAndFindingKeepsTheInvariant(string target)
    {
        var files = new[] { "corpus", "findings" }
            .Select(kind => Path.Combine(Root, kind, target))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(files.Count >= 2, $"fuzz/corpus/{target} must hold seeds; found {files.Count} files");
        using var workspace = new FuzzWorkspace();
        ReaderTargets.Run(target, workspace, [], TimeSpan.FromMinutes(1)); // warm-up, as the fuzz program does
        var accepted = 0;
        foreach (string file in files)
        {
            string outcome;
            try
            {
                outcome = ReaderTargets.Run(target, workspace, File.ReadAllBytes(file), ReplayTime);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{Path.GetRelativePath(Root, file)} broke the {target} invariant: {e}");
            }
            if (outcome == "accepted") accepted++;
        }
        Assert.True(accepted > 0, $"no file of fuzz/corpus/{target} is valid; the campaign needs a valid seed");
    }

    [Fact]
    public void EveryCorpusFolderIsATarget()
    {
        foreach (string kind in new[] { "corpus", "findings" })
        {
            string folder = Path.Combine(Root, kind);
            if (!Directory.Exists(folder)) continue;
            foreach (string directory in Directory.EnumerateDirectories(folder))
                Assert.Contains(Path.GetFileName(directory), ReaderTargets.Names);
        }
    }
}
