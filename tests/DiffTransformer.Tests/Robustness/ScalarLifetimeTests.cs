namespace DiffTransformer.Tests;

/// <summary>The library never hands TorchSharp a Scalar that the GC may finalize mid-call (see ScalarLifetimeAudit).</summary>
public class ScalarLifetimeTests
{
    [Fact]
    public void LibraryCodeKeepsEveryScalarAlive()
    {
        string root = RepositoryRoot();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Append(typeof(TorchSharp.torch).Assembly.Location)
            .Append(typeof(Microsoft.ML.Tokenizers.Tokenizer).Assembly.Location)
            .Distinct();
        var findings = ScalarLifetimeAudit.Findings(Path.Combine(root, "src"), references);
        Assert.True(findings.Count == 0, $"{findings.Count} places create Scalars nobody keeps alive:\n" + string.Join("\n", findings));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiffTransformer.sln"))) return dir.FullName;
        throw new InvalidOperationException("DiffTransformer.sln not found above " + AppContext.BaseDirectory);
    }
}
