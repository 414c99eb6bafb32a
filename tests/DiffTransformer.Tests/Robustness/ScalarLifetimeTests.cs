namespace DiffTransformer.Tests;

/// <summary>The library never hands TorchSharp a Scalar that the GC may finalize mid-call (see ScalarLifetimeAudit).</summary>
public class ScalarLifetimeTests
{
    [Fact]
    public void LibraryCodeKeepsEveryScalarAlive()
    {
        string root = Repository.Root;
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Append(typeof(TorchSharp.torch).Assembly.Location)
            .Append(typeof(Microsoft.ML.Tokenizers.Tokenizer).Assembly.Location)
            .Distinct();
        var findings = ScalarLifetimeAudit.Findings(Path.Combine(root, "src"), references);
        Assert.True(findings.Count == 0, $"{findings.Count} places create Scalars nobody keeps alive:\n" + string.Join("\n", findings));
    }
}
